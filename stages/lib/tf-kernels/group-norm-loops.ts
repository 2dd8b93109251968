/**
 * Group normalisation (Wu & He 2018) followed by an optional activation, and
 * its gradient, as plain loops over channels-last float32 data. tfjs composes
 * group norm from moments, broadcasting sub/div/mul/add on 5-D shapes and, in
 * the backward pass, about twenty more ops; on the wasm backend those were
 * the largest share of a training step. Here the forward pass reads x twice
 * and the backward pass reads x and dy twice, whatever the shapes.
 *
 * Statistics accumulate in float64 per channel, then per group, so the
 * single-pass variance (E[x^2] - mean^2) loses nothing a float32 result can
 * show.
 */

/** The activation fused after the affine step. */
export type FusedActivation = 'linear' | 'relu' | 'relu6';

/** Shape of one call: x is [n, pixels, channels] with `groups` equal channel groups. */
export interface GroupNormShape {
  readonly n: number;
  readonly pixels: number;
  readonly channels: number;
  readonly groups: number;
  readonly epsilon: number;
  readonly activation: FusedActivation;
}

/** Per (image, group): mean and 1/sqrt(var + eps); per channel, sums of x (float64). */
function moments(x: Float32Array, s: GroupNormShape, b: number, sum: Float64Array, sumSq: Float64Array, mean: Float64Array, rstd: Float64Array): void {
  const { pixels, channels: c } = s;
  sum.fill(0);
  sumSq.fill(0);
  const base = b * pixels * c;
  const end = base + pixels * c;
  // Four pixels per channel update: the accumulators are read and written
  // once per four values (they are the loop's bottleneck).
  const end4 = base + (pixels - (pixels % 4)) * c;
  const c2 = 2 * c;
  const c3 = 3 * c;
  let o = base;
  for (; o < end4; o += 4 * c) {
    for (let k = 0; k < c; k++) {
      const v0 = x[o + k]!;
      const v1 = x[o + c + k]!;
      const v2 = x[o + c2 + k]!;
      const v3 = x[o + c3 + k]!;
      sum[k]! += v0 + v1 + (v2 + v3);
      sumSq[k]! += v0 * v0 + v1 * v1 + (v2 * v2 + v3 * v3);
    }
  }
  for (; o < end; o += c) {
    for (let k = 0; k < c; k++) {
      const v = x[o + k]!;
      sum[k]! += v;
      sumSq[k]! += v * v;
    }
  }
  groupMoments(sum, sumSq, s, mean, rstd);
}

/** Per group mean and 1/sqrt(var + eps) of one image from its per-channel sums of x and x^2. */
export function groupMoments(sum: ArrayLike<number>, sumSq: ArrayLike<number>, s: GroupNormShape, mean: Float64Array, rstd: Float64Array): void {
  const { pixels, channels: c, groups, epsilon } = s;
  const cg = c / groups;
  const count = pixels * cg;
  for (let g = 0; g < groups; g++) {
    let s1 = 0;
    let s2 = 0;
    for (let k = g * cg; k < (g + 1) * cg; k++) {
      s1 += sum[k]!;
      s2 += sumSq[k]!;
    }
    const m = s1 / count;
    const v = Math.max(0, s2 / count - m * m);
    mean[g] = m;
    rstd[g] = 1 / Math.sqrt(v + epsilon);
  }
}

/** One image's per-channel affine map y = scale * x + shift (see {@link groupNormCoefficients}). */
export function affineOf(mean: Float64Array, rstd: Float64Array, gamma: Float32Array, beta: Float32Array, s: GroupNormShape, scale: Float32Array, shift: Float32Array): void {
  const cg = s.channels / s.groups;
  for (let k = 0; k < s.channels; k++) {
    const g = (k / cg) | 0;
    const a = gamma[k]! * rstd[g]!;
    scale[k] = a;
    shift[k] = beta[k]! - mean[g]! * a;
  }
}

/**
 * The backward pass's per-channel terms for one image, from the sums of dz
 * and dz * x over its pixels: dx = p dz + q x + r (written to p, q, r), and
 * this image's shares of dbeta and dgamma, added into them.
 */
export function backwardTerms(
  sdz: ArrayLike<number>,
  sdzx: ArrayLike<number>,
  mean: Float64Array,
  rstd: Float64Array,
  gamma: Float32Array,
  s: GroupNormShape,
  p: Float32Array | Float64Array,
  q: Float32Array | Float64Array,
  r: Float32Array | Float64Array,
  dgamma: Float32Array,
  dbeta: Float32Array,
): void {
  const { pixels, channels: c, groups } = s;
  const cg = c / groups;
  const count = pixels * cg;
  // dbeta = sum dz; dgamma = sum dz * xhat; per group, the sums of dxhat and dxhat * xhat.
  for (let g = 0; g < groups; g++) {
    const m = mean[g]!;
    const rs = rstd[g]!;
    let sumD = 0;
    let sumDX = 0;
    for (let k = g * cg; k < (g + 1) * cg; k++) {
      const dgk = rs * (sdzx[k]! - m * sdz[k]!);
      dbeta[k]! += sdz[k]!;
      dgamma[k]! += dgk;
      sumD += gamma[k]! * sdz[k]!;
      sumDX += gamma[k]! * dgk;
    }
    // dx = rs * (gamma dz - sumD/count - xhat * sumDX/count) = p_k dz + qg x + rg
    const qg = (-rs * rs * sumDX) / count;
    const rg = (-rs * sumD) / count - qg * m;
    for (let k = g * cg; k < (g + 1) * cg; k++) {
      p[k] = gamma[k]! * rs;
      q[k] = qg;
      r[k] = rg;
    }
  }
}

/** The loops' code for each activation (also the SIMD module's). */
export const ACT_CODE: Record<FusedActivation, number> = { linear: 0, relu: 1, relu6: 2 };

/**
 * 1 where the activation passes the gradient at pre-activation z, else 0, as
 * tfjs's gradients do (relu: z > 0; relu6: 0 < z <= 6); without branches.
 */
function mask(act: number, z: number): number {
  return act === 1 ? +(z > 0) : +(z > 0) & +(z <= 6);
}

/**
 * The per-image, per-channel affine map group norm reduces to: y = act(scale *
 * x + shift) with scale = gamma / sqrt(var_g + eps), shift = beta - mean_g *
 * scale. Returns [n * channels] arrays of each.
 */
export function groupNormCoefficients(x: Float32Array, gamma: Float32Array, beta: Float32Array, s: GroupNormShape): { scale: Float32Array; shift: Float32Array } {
  const { n, channels: c, groups } = s;
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  const mean = new Float64Array(groups);
  const rstd = new Float64Array(groups);
  const scale = new Float32Array(n * c);
  const shift = new Float32Array(n * c);
  for (let b = 0; b < n; b++) {
    moments(x, s, b, sum, sumSq, mean, rstd);
    affineOf(mean, rstd, gamma, beta, s, scale.subarray(b * c, (b + 1) * c), shift.subarray(b * c, (b + 1) * c));
  }
  return { scale, shift };
}

/** y = act(gamma * (x - mean_g) / sqrt(var_g + eps) + beta). Writes `y` (same size as x). */
export function groupNormForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, s: GroupNormShape, y: Float32Array): void {
  const { n, pixels, channels: c } = s;
  const { scale: scales, shift: shifts } = groupNormCoefficients(x, gamma, beta, s);
  const act = ACT_CODE[s.activation];
  for (let b = 0; b < n; b++) {
    const scale = scales.subarray(b * c, (b + 1) * c);
    const shift = shifts.subarray(b * c, (b + 1) * c);
    const base = b * pixels * c;
    const end = base + pixels * c;
    // Branch-free clamps: activations are about half negative, and a branch
    // per element mispredicts often enough to cost 3-4x.
    if (act === 0) {
      for (let o = base; o < end; o += c) for (let k = 0; k < c; k++) y[o + k] = scale[k]! * x[o + k]! + shift[k]!;
    } else if (act === 1) {
      for (let o = base; o < end; o += c) {
        for (let k = 0; k < c; k++) {
          const z = scale[k]! * x[o + k]! + shift[k]!;
          y[o + k] = (z + Math.abs(z)) * 0.5;
        }
      }
    } else {
      for (let o = base; o < end; o += c) {
        for (let k = 0; k < c; k++) {
          const z = scale[k]! * x[o + k]! + shift[k]!;
          // min(max(z, 0), 6)
          y[o + k] = (Math.abs(z) - Math.abs(z - 6) + 6) * 0.5;
        }
      }
    }
  }
}

/**
 * Gradients of {@link groupNormForward}: writes dx (size of x), dgamma and
 * dbeta (size channels, summed over the batch). The activation's mask is
 * recomputed from x (tfjs's Relu6 passes the gradient at z = 6, as here).
 */
export function groupNormBackward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  dy: Float32Array,
  s: GroupNormShape,
  dx: Float32Array,
  dgamma: Float32Array,
  dbeta: Float32Array,
): void {
  const { n, pixels, channels: c, groups } = s;
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  const mean = new Float64Array(groups);
  const rstd = new Float64Array(groups);
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  const sdz = new Float64Array(c);
  const sdzx = new Float64Array(c);
  const q = new Float64Array(c);
  const r = new Float64Array(c);
  const pk = new Float64Array(c);
  const act = ACT_CODE[s.activation];
  dgamma.fill(0);
  dbeta.fill(0);
  for (let b = 0; b < n; b++) {
    moments(x, s, b, sum, sumSq, mean, rstd);
    affineOf(mean, rstd, gamma, beta, s, scale, shift);
    sdz.fill(0);
    sdzx.fill(0);
    const base = b * pixels * c;
    // Pass 1: dz = dy * act'(z); per channel sums of dz and dz * x, two pixels per update.
    const end = base + pixels * c;
    const end2 = base + (pixels - (pixels % 2)) * c;
    let o = base;
    for (; o < end2; o += 2 * c) {
      for (let k = 0; k < c; k++) {
        const x0 = x[o + k]!;
        const x1 = x[o + c + k]!;
        let d0 = dy[o + k]!;
        let d1 = dy[o + c + k]!;
        if (act !== 0) {
          d0 *= mask(act, scale[k]! * x0 + shift[k]!);
          d1 *= mask(act, scale[k]! * x1 + shift[k]!);
        }
        // dx holds dz until pass 2.
        dx[o + k] = d0;
        dx[o + c + k] = d1;
        sdz[k]! += d0 + d1;
        sdzx[k]! += d0 * x0 + d1 * x1;
      }
    }
    for (; o < end; o += c) {
      for (let k = 0; k < c; k++) {
        const xv = x[o + k]!;
        const d = act === 0 ? dy[o + k]! : dy[o + k]! * mask(act, scale[k]! * xv + shift[k]!);
        dx[o + k] = d;
        sdz[k]! += d;
        sdzx[k]! += d * xv;
      }
    }
    backwardTerms(sdz, sdzx, mean, rstd, gamma, s, pk, q, r, dgamma, dbeta);
    // Pass 2: dx from dz (stored in dx by pass 1).
    for (let o = base; o < end; o += c) {
      for (let k = 0; k < c; k++) dx[o + k] = pk[k]! * dx[o + k]! + q[k]! * x[o + k]! + r[k]!;
    }
  }
}

/** y = act(x + bias[c]) over channels-last x with `channels` channels. */
export function biasActForward(x: Float32Array, bias: Float32Array, channels: number, activation: FusedActivation, y: Float32Array): void {
  const c = channels;
  const act = ACT_CODE[activation];
  const end = x.length;
  if (act === 0) {
    for (let o = 0; o < end; o += c) for (let k = 0; k < c; k++) y[o + k] = x[o + k]! + bias[k]!;
  } else if (act === 1) {
    for (let o = 0; o < end; o += c) {
      for (let k = 0; k < c; k++) {
        const z = x[o + k]! + bias[k]!;
        y[o + k] = (z + Math.abs(z)) * 0.5;
      }
    }
  } else {
    for (let o = 0; o < end; o += c) {
      for (let k = 0; k < c; k++) {
        const z = x[o + k]! + bias[k]!;
        y[o + k] = (Math.abs(z) - Math.abs(z - 6) + 6) * 0.5;
      }
    }
  }
}

/** Gradients of {@link biasActForward}: dx = dy * act'(x + bias), dbias = its sum per channel. */
export function biasActBackward(x: Float32Array, bias: Float32Array, dy: Float32Array, channels: number, activation: FusedActivation, dx: Float32Array, dbias: Float32Array): void {
  const c = channels;
  const act = ACT_CODE[activation];
  const acc = new Float64Array(c);
  const end = x.length;
  for (let o = 0; o < end; o += c) {
    for (let k = 0; k < c; k++) {
      const d = act === 0 ? dy[o + k]! : dy[o + k]! * mask(act, x[o + k]! + bias[k]!);
      dx[o + k] = d;
      acc[k]! += d;
    }
  }
  for (let k = 0; k < c; k++) dbias[k] = acc[k]!;
}

/**
 * Gradient of an activation from its output y (the saved output of a fused
 * conv + bias + activation): dz = dy * act'(z), and db = its sum per channel.
 * relu passes where y > 0 (as z > 0); relu6 where 0 < y < 6, which differs
 * from tfjs's 0 < z <= 6 only at z = 6 exactly.
 */
export function activationGradFromOutput(y: Float32Array, dy: Float32Array, channels: number, activation: FusedActivation, dz: Float32Array, db: Float32Array): void {
  const c = channels;
  const act = ACT_CODE[activation];
  const acc = new Float64Array(c);
  const end = y.length;
  for (let o = 0; o < end; o += c) {
    for (let k = 0; k < c; k++) {
      const v = y[o + k]!;
      const d = act === 0 ? dy[o + k]! : act === 1 ? dy[o + k]! * +(v > 0) : dy[o + k]! * (+(v > 0) & +(v < 6));
      dz[o + k] = d;
      acc[k]! += d;
    }
  }
  for (let k = 0; k < c; k++) db[k] = acc[k]!;
}
