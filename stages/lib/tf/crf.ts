/**
 * A fully connected CRF restricted to a window, refining a segmentation model's per-pixel scores with
 * the image's colours (DeepLab v1/v2's post-processing, after Krähenbühl and Koltun, "Efficient Inference
 * in Fully Connected CRFs with Gaussian Edge Potentials", NIPS 2011; the windowed form as in Teichmann and
 * Cipolla's ConvCRF, 2018).
 *
 * Why here: most of a model's wrong pixels lie within two pixels of an object's edge, where the decoder's
 * coarse grid blurs the boundary. Neighbouring pixels of similar colour are pulled towards the same
 * class, so the predicted boundary moves to the colour edge.
 *
 * Energy: unary -logit(x_i), pairwise Potts [x_i != x_j] k(i, j) with
 *   k(i, j) = w_a exp(-|p_i - p_j|^2 / 2 s_a^2 - |I_i - I_j|^2 / 2 s_c^2)   (appearance)
 *           + w_s exp(-|p_i - p_j|^2 / 2 s_s^2)                              (smoothness)
 * over pairs within `radius` pixels of each other (the full CRF's kernel is negligible beyond a few
 * spatial sigmas). Mean-field inference: Q_i(l) ∝ exp(logit_i(l) + sum_j k(i, j) Q_j(l)).
 *
 * Plain JavaScript over typed arrays: a 128x128 image with radius 5 and 5 iterations is ~30 M
 * multiply-adds, tens of milliseconds, small beside the model's forward pass; it runs the same on every
 * tfjs backend because it is not tfjs.
 */
import { z } from 'zod';

export const crfParamsSchema = z
  .object({
    /** Mean-field iterations (each one pass over every pixel pair in the window). */
    iterations: z.number().int().min(1).max(50).default(5),
    /** Pixels within this distance (a square window of side 2 radius + 1) are connected. */
    radius: z.number().int().min(1).max(20).default(5),
    /** The kernel that joins nearby pixels of similar colour. */
    appearance: z
      .object({
        weight: z.number().min(0).default(3),
        /** Spatial sigma, pixels. */
        spatial: z.number().positive().default(5),
        /** Colour sigma, in 0-255 RGB units (Euclidean distance). */
        colour: z.number().positive().default(10),
      })
      .strict()
      .prefault({}),
    /** The kernel that joins nearby pixels whatever their colour (removes isolated pixels). */
    smoothness: z
      .object({
        weight: z.number().min(0).default(1),
        /** Spatial sigma, pixels. */
        spatial: z.number().positive().default(1),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type CrfParams = z.infer<typeof crfParamsSchema>;

/** Offsets (dy, dx) of one half of the window: the other half is the same pairs seen from the other end. */
function halfWindow(radius: number): [number, number][] {
  const out: [number, number][] = [];
  for (let dy = 0; dy <= radius; dy++) for (let dx = -radius; dx <= radius; dx++) if (dy > 0 || dx > 0) out.push([dy, dx]);
  return out;
}

/**
 * Mean-field inference: the class probabilities as one plane of `H * W` per class.
 * `logits` `[H * W * C]` are the model's scores, pixel-major as tfjs's NHWC (mean logits when several passes
 * were added); `rgb` `[H * W * 3]` the image as 0-255 values.
 */
function meanField(logits: Float32Array, rgb: ArrayLike<number>, width: number, height: number, classes: number, p: CrfParams): Float32Array[] {
  const n = width * height;
  const C = classes;
  if (logits.length !== n * C) throw new Error(`crf: ${logits.length} scores for ${width}x${height} pixels and ${C} classes`);
  if (rgb.length !== n * 3) throw new Error(`crf: ${rgb.length} colour values for ${width}x${height} pixels`);
  const offsets = halfWindow(p.radius);
  const ia = 1 / (2 * p.appearance.spatial * p.appearance.spatial);
  const ic = 1 / (2 * p.appearance.colour * p.appearance.colour);
  const is = 1 / (2 * p.smoothness.spatial * p.smoothness.spatial);
  // The kernel between pixel i and i + offset, stored at i; symmetric, so it serves the pair both ways.
  const kernels = offsets.map(([dy, dx]) => {
    const k = new Float32Array(n);
    const d2 = dy * dy + dx * dx;
    const wa = p.appearance.weight * Math.exp(-d2 * ia);
    const ws = p.smoothness.weight * Math.exp(-d2 * is);
    const x0 = Math.max(0, -dx);
    const x1 = Math.min(width, width - dx);
    for (let y = 0; y < height - dy; y++) {
      for (let x = x0; x < x1; x++) {
        const i = y * width + x;
        const j = i + dy * width + dx;
        const r = rgb[3 * i]! - rgb[3 * j]!;
        const g = rgb[3 * i + 1]! - rgb[3 * j + 1]!;
        const b = rgb[3 * i + 2]! - rgb[3 * j + 2]!;
        k[i] = wa * Math.exp(-(r * r + g * g + b * b) * ic) + ws;
      }
    }
    return k;
  });
  // Class-major planes inside the loop: the inner loop then runs along a row of one plane, contiguous in memory.
  const q = Array.from({ length: C }, () => new Float32Array(n));
  const msg = Array.from({ length: C }, () => new Float32Array(n));
  softmaxInto(q, logits, msg, n, C);
  for (let it = 0; it < p.iterations; it++) {
    for (const m of msg) m.fill(0);
    for (let o = 0; o < offsets.length; o++) {
      const [dy, dx] = offsets[o]!;
      const k = kernels[o]!;
      const shift = dy * width + dx;
      const x0 = Math.max(0, -dx);
      const x1 = Math.min(width, width - dx);
      for (let c = 0; c < C; c++) {
        const qc = q[c]!;
        const mc = msg[c]!;
        for (let y = 0; y < height - dy; y++) {
          const end = y * width + x1;
          for (let i = y * width + x0; i < end; i++) {
            const w = k[i]!;
            mc[i] = mc[i]! + w * qc[i + shift]!;
            mc[i + shift] = mc[i + shift]! + w * qc[i]!;
          }
        }
      }
    }
    softmaxInto(q, logits, msg, n, C);
  }
  return q;
}

/** Class probabilities after the CRF, `[H * W * C]` (pixel-major, as the logits). Arguments as `meanField`. */
export function crfMarginals(logits: Float32Array, rgb: ArrayLike<number>, width: number, height: number, classes: number, p: CrfParams): Float32Array {
  const q = meanField(logits, rgb, width, height, classes, p);
  const out = new Float32Array(width * height * classes);
  for (let c = 0; c < classes; c++) for (let i = 0; i < width * height; i++) out[i * classes + c] = q[c]![i]!;
  return out;
}

/** q = softmax(logits + msg) per pixel, max-subtracted (logits pixel-major, q and msg class-major). */
function softmaxInto(q: Float32Array[], logits: Float32Array, msg: Float32Array[], n: number, C: number): void {
  const e = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) {
      e[c] = logits[i * C + c]! + msg[c]![i]!;
      m = Math.max(m, e[c]!);
    }
    let s = 0;
    for (let c = 0; c < C; c++) {
      e[c] = Math.exp(e[c]! - m);
      s += e[c]!;
    }
    for (let c = 0; c < C; c++) q[c]![i] = e[c]! / s;
  }
}

/** The most probable class per pixel after the CRF (ties to the lower index, as argMax). */
export function crfClasses(logits: Float32Array, rgb: ArrayLike<number>, width: number, height: number, classes: number, p: CrfParams): Int32Array {
  // Straight from the class planes: no pixel-major copy of the probabilities on evaluate's per-image path.
  const q = meanField(logits, rgb, width, height, classes, p);
  const out = new Int32Array(width * height);
  const best = new Float32Array(q[0]!);
  for (let c = 1; c < classes; c++) {
    const qc = q[c]!;
    for (let i = 0; i < out.length; i++) {
      if (qc[i]! > best[i]!) {
        best[i] = qc[i]!;
        out[i] = c;
      }
    }
  }
  return out;
}
