/**
 * Telea's fast-marching inpainting (A. Telea, "An image inpainting technique
 * based on the fast marching method", 2004), written to give the same pixels
 * as OpenCV's `cv.inpaint(..., INPAINT_TELEA)` on 8-bit RGB images, only
 * faster.
 *
 * WHY this exists: the `deglare` stage must run at least twice as fast as the
 * study's Python + native OpenCV recipe (issue #4), and Telea inpainting over
 * the large dilated laser mask is most of its time. OpenCV walks the whole
 * (2r+1)^2 square around every filled pixel, with bounds and disc checks on
 * every neighbour, and computes each neighbour's weight once per colour
 * channel; opencv.js runs that as WebAssembly. Here each weight is computed
 * once for all three channels, the disc is walked row by row over only its
 * runs of known pixels (read from a bitset, so no per-pixel flag test), each
 * pixel's image gradient is cached (it changes only when a pixel next to it
 * is filled), and everything works on flat typed arrays (no Mat copies).
 * About 40% less CPU than opencv.js on the benchmark scenes in JavaScript;
 * the disc sum, ~85% of the time, runs as WebAssembly (wasm/telea-sum.c,
 * the same arithmetic in the same order: the same bits), which takes
 * about 30% off again (`kernel: 'js'` keeps the JavaScript sum, the
 * reference the tests hold the WebAssembly one to).
 *
 * The algorithm is OpenCV's (4.10 and later, the version opencv.js ships)
 * step for step, including its quirks:
 * - the known band around the mask starts at T = 0, and known pixels within
 *   the radius get negative distances from an outward march first;
 * - pixels are filled in order of T, ties in insertion order (a binary heap
 *   keyed by (T, push number), as OpenCV's priority queue);
 * - weights dir * dst * lev with dst = 1/|r|^3, lev = 1/(1 + |dT|), and the
 *   image-gradient term whose central difference is scaled by 2 (not 1/2) and
 *   is added normalised before rounding;
 * - the gradient reads rows/columns shifted off the image's first and last.
 * Only the sums run in double instead of float (see sumDisc), so a few
 * pixels differ from opencv.js by a few grey levels.
 * opencv.js's own inpaint stays available (`deglare`'s `inpaint:
 * telea-opencv`) for comparison.
 */
import { teleaKernel } from './telea-wasm.ts';
import type { GrayImage, RgbImage } from './types.ts';

const KNOWN = 0;
const BAND = 1;
const INSIDE = 2;
/** Marks pixels reached by the outward march (their T is negated afterwards). */
const CHANGE = 3;

const f32 = Math.fround;
const EPS20 = f32(1e-20);
const TINY_DIR = f32(0.000001);

export interface TeleaOptions {
  /** Which disc sum runs: the WebAssembly build (default) or the JavaScript reference; both give the same bits. */
  kernel?: 'wasm' | 'js';
}

/**
 * Fills the pixels where `mask` is non-zero from their surroundings, like
 * `cv.inpaint(img, mask, out, radius, cv.INPAINT_TELEA)` (to within a few grey
 * levels on a few pixels). Returns a new image;
 * `img` and `mask` are not changed. `radius` is rounded and clamped to 1..100
 * as OpenCV does.
 */
export function inpaintTelea(img: RgbImage, mask: GrayImage, radius: number, opts: TeleaOptions = {}): RgbImage {
  const { width: W, height: H } = img;
  if (mask.width !== W || mask.height !== H) throw new Error(`inpaintTelea: mask is ${mask.width}x${mask.height}, image ${W}x${H}`);
  if (img.data.length !== W * H * 3) throw new Error(`inpaintTelea: expected 3 channels, got ${img.data.length / (W * H)}`);
  const range = Math.min(100, Math.max(1, roundHalfEven(radius)));

  // Everything below is on the image grown by one pixel on each side ("ext"
  // coordinates, as in OpenCV): index e = i * EW + j, image pixel (i-1, j-1).
  const EW = W + 2;
  const EH = H + 2;
  const N = EW * EH;
  const flags = new Uint8Array(N);
  let inside = 0;
  for (let y = 0; y < H; y++) {
    const mrow = y * W;
    const erow = (y + 1) * EW + 1;
    for (let x = 0; x < W; x++) {
      if (mask.data[mrow + x] !== 0) {
        flags[erow + x] = INSIDE;
        inside++;
      }
    }
  }
  if (inside === 0) return { data: new Uint8Array(img.data), width: W, height: H };
  // the arrays the disc sum reads live in the WebAssembly kernel's memory (whichever sum runs)
  const kernel = teleaKernel(img.data, W, H, range, discPixels(range));
  const out = kernel.arrays.img;
  const T = kernel.arrays.T.fill(1e6);

  // The narrow band: known pixels (off the ext border) 4-adjacent to the mask, T = 0.
  const band = new Uint8Array(N);
  for (let i = 1; i < EH - 1; i++) {
    for (let j = 1, e = i * EW + 1; j < EW - 1; j++, e++) {
      if (flags[e] !== INSIDE && (flags[e - 1] === INSIDE || flags[e + 1] === INSIDE || flags[e - EW] === INSIDE || flags[e + EW] === INSIDE)) {
        band[e] = 1;
        T[e] = 0;
      }
    }
  }

  outwardMarch(flags, band, T, EW, EH, range);

  const heap = new PixelHeap(N);
  for (let e = 0; e < N; e++) if (band[e]) heap.push(e, 0);

  // filled pixels are read back (from `out`) as they are written, as in OpenCV
  const g = new Grid(flags, T, out, W, H, range, kernel.arrays);
  for (let k = 1; k < EH - 1; k++) for (let l = 1; l < EW - 1; l++) if (flags[k * EW + l] !== INSIDE) updateGradient(g, k, l);
  const acc = kernel.arrays.acc;
  const wasm = opts.kernel !== 'js';
  const neighbours = [-EW, -1, EW, 1];

  while (heap.size > 0) {
    const e1 = heap.pop();
    if (flags[e1] !== INSIDE) flags[e1] = KNOWN;
    for (let q = 0; q < 4; q++) {
      const e = e1 + neighbours[q]!;
      const i = (e / EW) | 0;
      const j = e - i * EW;
      if (i <= 0 || j <= 0 || i > EH - 1 || j > EW - 1) continue;
      if (flags[e] !== INSIDE) continue;
      const dist = min4(
        solve(e - EW, e - 1, flags, T),
        solve(e + EW, e - 1, flags, T),
        solve(e - EW, e + 1, flags, T),
        solve(e + EW, e + 1, flags, T),
      );
      T[e] = dist;
      const gTx = gradT(flags, T, e, 1);
      const gTy = gradT(flags, T, e, EW);
      if (wasm) kernel.sum(i, j, dist, gTx, gTy);
      else sumDisc(g, i, j, dist, gTx, gTy, acc);
      const q0 = ((i - 1) * W + (j - 1)) * 3;
      const s = acc[9]!;
      out[q0] = shade(acc[0]!, acc[3]!, acc[6]!, s);
      out[q0 + 1] = shade(acc[1]!, acc[4]!, acc[7]!, s);
      out[q0 + 2] = shade(acc[2]!, acc[5]!, acc[8]!, s);
      flags[e] = BAND;
      g.known[i * g.NW + (j >> 5)]! |= 1 << (j & 31);
      updateGradientsAround(g, i, j);
      heap.push(e, dist);
    }
  }
  // out lives in the kernel's memory, which the next call reuses
  return { data: out.slice(), width: W, height: H };
}

/** Pixels in the disc of radius `range`: 2 floor(sqrt(range^2 - dy^2)) + 1 per row dy. */
function discPixels(range: number): number {
  let n = 0;
  for (let dy = -range; dy <= range; dy++) n += 2 * Math.floor(Math.sqrt(range * range - dy * dy)) + 1;
  return n;
}

/** The state the per-pixel sums read: flags, T and pixels, sizes, and the disc's shape (a class, so V8 sees one shape). */
class Grid {
  readonly EW: number;
  readonly EH: number;
  readonly range: number;
  /** Per disc row dy = -range..range (index dy + range): the disc spans columns -half..half. */
  readonly half: Int32Array;
  /**
   * 1/|r|^3 per disc pixel, rows top to bottom, columns left to right
   * (OpenCV's visiting order), the centre included (it is never summed: it
   * is the pixel being filled, still INSIDE).
   */
  readonly dst: Float32Array;
  /** Cached image gradients of every pixel (see updateGradient). */
  readonly grad: Int16Array;
  /**
   * The known pixels (flags not INSIDE) as bits, NW 32-bit words per ext row,
   * kept in step with `flags`: sumDisc walks the runs of known pixels
   * from these instead of testing every pixel of the disc (see there).
   */
  readonly known: Int32Array;
  readonly NW: number;

  constructor(
    readonly flags: Uint8Array,
    readonly T: Float32Array,
    readonly img: Uint8Array,
    readonly W: number,
    readonly H: number,
    range: number,
    arrays: { grad: Int16Array; known: Int32Array; dst: Float32Array; half: Int32Array },
  ) {
    this.EW = W + 2;
    this.EH = H + 2;
    this.range = range;
    this.half = arrays.half;
    const dst: number[] = [];
    for (let dy = -range; dy <= range; dy++) {
      const h = Math.floor(Math.sqrt(range * range - dy * dy));
      this.half[dy + range] = h;
      for (let dx = -h; dx <= h; dx++) {
        const len = dx * dx + dy * dy;
        dst.push(len === 0 ? 0 : f32(1 / (len * Math.sqrt(len))));
      }
    }
    if (dst.length !== arrays.dst.length) throw new Error(`inpaintTelea: disc of ${dst.length} pixels, room for ${arrays.dst.length}`);
    arrays.dst.set(dst);
    this.dst = arrays.dst;
    this.grad = arrays.grad;
    this.NW = (this.EW + 31) >> 5;
    this.known = arrays.known;
    for (let i = 0; i < this.EH; i++) {
      for (let j = 0; j < this.EW; j++) if (flags[i * this.EW + j] !== INSIDE) this.known[i * this.NW + (j >> 5)]! |= 1 << (j & 31);
    }
  }
}

/**
 * The image gradient OpenCV uses at known pixel (k, l) (ext coordinates), per
 * channel, written to grad[6q..6q+5] = gx r,g,b, gy r,g,b (q = k * EW + l):
 * a central difference (scaled by 2, as OpenCV does) where both neighbours
 * along the axis are known, one-sided where one is, 0 where neither is; rows
 * and columns shifted off the image's first and last ones (km, kp, lm, lp) as
 * OpenCV does. It reads only pixels in the 3x3 block around (k, l), so it
 * changes only when a pixel of that block is filled: cached, and refreshed
 * around each filled pixel, instead of being recomputed for every disc the
 * pixel falls in.
 */
function updateGradient(g: Grid, k: number, l: number): void {
  const { flags, img, grad, W, H, EW, EH } = g;
  const W3 = W * 3;
  const q = k * EW + l;
  const km = k - 1 + (k === 1 ? 1 : 0);
  const kp = k - 1 - (k === EH - 2 ? 1 : 0);
  const lm = l - 1 + (l === 1 ? 1 : 0);
  const lp = l - 1 - (l === EW - 2 ? 1 : 0);
  // clamped only for images one pixel thin, where OpenCV would read outside the image
  const rowM = clamp(km, H) * W3;
  const rowM1 = clamp(km - 1, H) * W3;
  const rowP = clamp(kp, H) * W3;
  const rowP1 = clamp(kp + 1, H) * W3;
  const colM = clamp(lm, W) * 3;
  const colM1 = clamp(lm - 1, W) * 3;
  const colP = clamp(lp, W) * 3;
  const colP1 = clamp(lp + 1, W) * 3;
  const kr = flags[q + 1] !== INSIDE;
  const kl = flags[q - 1] !== INSIDE;
  const kd = flags[q + EW] !== INSIDE;
  const ku = flags[q - EW] !== INSIDE;
  const pv = rowM + colM;
  let xa = pv, xb = pv, xm = 0;
  if (kr && kl) (xa = rowM + colP1), (xb = rowM + colM1), (xm = 2);
  else if (kr) (xa = rowM + colP1), (xb = pv), (xm = 1);
  else if (kl) (xa = rowM + colP), (xb = rowM + colM1), (xm = 1);
  let ya = pv, yb = pv, ym = 0;
  if (kd && ku) (ya = rowP1 + colM), (yb = rowM1 + colM), (ym = 2);
  else if (kd) (ya = rowP1 + colM), (yb = pv), (ym = 1);
  else if (ku) (ya = rowP + colM), (yb = rowM1 + colM), (ym = 1);
  const o = q * 6;
  for (let c = 0; c < 3; c++) {
    grad[o + c] = (img[xa + c]! - img[xb + c]!) * xm;
    grad[o + 3 + c] = (img[ya + c]! - img[yb + c]!) * ym;
  }
}

/**
 * Refreshes the cached gradients of the known image pixels in the 3x3 block
 * around ext pixel (i, j). Unknown pixels are left: the sums never read
 * their gradient, and each gets its own when it is filled (it is in its own
 * block).
 */
function updateGradientsAround(g: Grid, i: number, j: number): void {
  const { flags, EW } = g;
  const k0 = Math.max(1, i - 1);
  const k1 = Math.min(g.EH - 2, i + 1);
  const l0 = Math.max(1, j - 1);
  const l1 = Math.min(g.EW - 2, j + 1);
  for (let k = k0; k <= k1; k++) for (let l = l0; l <= l1; l++) if (flags[k * EW + l] !== INSIDE) updateGradient(g, k, l);
}

/*
 * sumDisc writes acc = [Ia r,g,b, Jx r,g,b, Jy r,g,b, s]: the weighted pixel
 * sum, the weighted image-gradient terms and the weight sum over the known
 * neighbours in the disc, in OpenCV's order, each weight computed once for
 * all three channels. It is a small function of its own so V8 optimises the
 * hot loop on its own.
 *
 * It adds up in double where OpenCV uses float. Rounding every step to
 * float32 (Math.fround) reproduces opencv.js bit for bit - we checked - but
 * makes these loops ~1.5x slower in V8, slower than opencv.js itself; in
 * double a few pixels per image differ by at most a few grey levels (see the
 * test), and the loops beat opencv.js.
 */

/**
 * Sums for the pixel at ext (i, j). The disc is walked row by row, cut to
 * the image (neighbours outside it are skipped, as in OpenCV), and in each
 * row only over its runs of known pixels, found from the `known` bits (ctz
 * via clz32): about half the disc is still unknown, and testing each pixel's
 * flag cost as much as a third of the whole inpainting (a branch the CPU
 * mispredicts at every edge of the unknown region). Same neighbours, same
 * order as testing every pixel, so the same sums. The neighbour's own pixel
 * is read, unshifted (OpenCV >= 4.10).
 */
function sumDisc(g: Grid, i: number, j: number, Ti: number, gTx: number, gTy: number, acc: Float64Array): void {
  const { T, img, grad, known, W, EW, EH, NW, range, half, dst: Dst } = g;
  let ia0 = 0, ia1 = 0, ia2 = 0;
  let jx0 = 0, jx1 = 0, jx2 = 0;
  let jy0 = 0, jy1 = 0, jy2 = 0;
  let s = 1e-20;
  let rowStart = 0; // index in Dst of the disc row's first pixel
  for (let dy = -range; dy <= range; dy++) {
    const h = half[dy + range]!;
    const ry = -dy;
    const ryT = ry * gTy;
    const ki = i + dy;
    const oLo = rowStart - (j - h); // Dst index = oLo + column
    rowStart += 2 * h + 1;
    if (ki < 1 || ki > EH - 2) continue; // the row is off the image
    // the disc row spans ext columns cLo..cHi (cut to the image's 1..EW-2)
    const cLo = j - h < 1 ? 1 : j - h;
    const cHi = j + h > EW - 2 ? EW - 2 : j + h;
    const bitsRow = ki * NW;
    const eRow = ki * EW;
    const pRow = ((ki - 1) * W - 1) * 3; // image byte of ext column c = pRow + 3c
    for (let wi = cLo >> 5, wEnd = cHi >> 5; wi <= wEnd; wi++) {
      let bits = known[bitsRow + wi]!;
      if (wi === cLo >> 5) bits &= -1 << (cLo & 31);
      if (wi === wEnd) bits &= -1 >>> (31 - (cHi & 31));
      const base = wi << 5;
      while (bits !== 0) {
        // a run of known pixels: bits a .. b-1 of this word
        const a = 31 - Math.clz32(bits & -bits);
        const zeros = ~bits & (-1 << a);
        const b = zeros === 0 ? 32 : 31 - Math.clz32(zeros & -zeros);
        bits = b === 32 ? 0 : bits & (-1 << b);
        const c0 = base + a;
        let rx = j - c0;
        let o = oLo + c0;
        let p = pRow + 3 * c0;
        for (let k = eRow + c0, kEnd = eRow + base + b; k < kEnd; k++, o++, p += 3, rx--) {
          const lev = 1 / (1 + Math.abs(T[k]! - Ti));
          // |dst * lev * dir| = dst * lev * |dir|: dst and lev are positive
          let dir = Math.abs(rx * gTx + ryT);
          if (dir <= 0.01) dir = TINY_DIR;
          const w = Dst[o]! * lev * dir;
          const q = k * 6;
          const wx = w * rx;
          const wy = w * ry;
          ia0 += w * img[p]!;
          ia1 += w * img[p + 1]!;
          ia2 += w * img[p + 2]!;
          jx0 -= wx * grad[q]!;
          jx1 -= wx * grad[q + 1]!;
          jx2 -= wx * grad[q + 2]!;
          jy0 -= wy * grad[q + 3]!;
          jy1 -= wy * grad[q + 4]!;
          jy2 -= wy * grad[q + 5]!;
          s = (s + w);
        }
      }
    }
  }
  acc[0] = ia0, acc[1] = ia1, acc[2] = ia2;
  acc[3] = jx0, acc[4] = jx1, acc[5] = jx2;
  acc[6] = jy0, acc[7] = jy1, acc[8] = jy2;
  acc[9] = s;
}

/**
 * The filled value: weighted mean plus the normalised gradient term (in
 * float), then + 0.5 (in double) and rounded half to even, as OpenCV's
 * round_cast / saturate_cast.
 */
function shade(ia: number, jx: number, jy: number, s: number): number {
  const norm = f32(f32(Math.sqrt(f32(f32(jx * jx) + f32(jy * jy)))) + EPS20);
  const sat = f32(f32(ia / s) + f32(f32(jx + jy) / norm));
  const v = roundHalfEven(sat + 0.5);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function clamp(v: number, n: number): number {
  return v < 0 ? 0 : v >= n ? n - 1 : v;
}

/** One-sided or central difference of T along `step` (1 = x, EW = y), from known neighbours only. */
function gradT(flags: Uint8Array, T: Float32Array, e: number, step: number): number {
  const a = flags[e + step] !== INSIDE;
  const b = flags[e - step] !== INSIDE;
  if (a) return b ? f32(T[e + step]! - T[e - step]!) * 0.5 : f32(T[e + step]! - T[e]!);
  return b ? f32(T[e]! - T[e - step]!) : 0;
}

/** Eikonal update from two neighbours, OpenCV's FastMarching_solve (double inside, float result). */
function solve(e1: number, e2: number, flags: Uint8Array, T: Float32Array): number {
  const a11 = T[e1]!;
  const a22 = T[e2]!;
  const m12 = a11 < a22 ? a11 : a22;
  let sol: number;
  if (flags[e1] !== INSIDE) {
    if (flags[e2] !== INSIDE) {
      const d = a11 - a22;
      sol = Math.abs(d) >= 1 ? 1 + m12 : (a11 + a22 + Math.sqrt(2 - d * d)) * 0.5;
    } else sol = 1 + a11;
  } else if (flags[e2] !== INSIDE) sol = 1 + a22;
  else sol = 1 + m12;
  return f32(sol);
}

function min4(a: number, b: number, c: number, d: number): number {
  const ab = a < b ? a : b;
  const cd = c < d ? c : d;
  return ab < cd ? ab : cd;
}

/** Rounds to nearest, ties to even (cvRound). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Gives the known pixels within `range` of the mask (outside the band) their
 * distance from the band as negative T, by a march outwards: OpenCV's
 * `icvCalcFMM(..., negate = true)` over the mask's square dilation.
 */
function outwardMarch(flags: Uint8Array, band: Uint8Array, T: Float32Array, EW: number, EH: number, range: number): void {
  const N = EW * EH;
  // ring = square dilation of the mask, minus the mask, minus the band, minus the ext border
  const ring = squareDilation(flags, EW, EH, range);
  const f = new Uint8Array(N);
  for (let i = 1; i < EH - 1; i++) {
    for (let j = 1, e = i * EW + 1; j < EW - 1; j++, e++) {
      if (ring[e] && flags[e] !== INSIDE && !band[e]) f[e] = INSIDE;
    }
  }
  const heap = new PixelHeap(N);
  for (let e = 0; e < N; e++) if (band[e]) heap.push(e, 0);
  const neighbours = [-EW, -1, EW, 1];
  while (heap.size > 0) {
    const e1 = heap.pop();
    f[e1] = CHANGE;
    for (let q = 0; q < 4; q++) {
      const e = e1 + neighbours[q]!;
      if (e < 0 || e >= N || f[e] !== INSIDE) continue;
      const dist = min4(solve(e - EW, e - 1, f, T), solve(e + EW, e - 1, f, T), solve(e - EW, e + 1, f, T), solve(e + EW, e + 1, f, T));
      T[e] = dist;
      f[e] = BAND;
      heap.push(e, dist);
    }
  }
  for (let e = 0; e < N; e++) if (f[e] === CHANGE) T[e] = -T[e]!;
}

/** 1 where a (2r+1) x (2r+1) square around the pixel holds an INSIDE pixel (running counts per row, then per column). */
function squareDilation(flags: Uint8Array, EW: number, EH: number, r: number): Uint8Array {
  const rows = new Uint8Array(EW * EH);
  for (let i = 0; i < EH; i++) {
    const base = i * EW;
    let n = 0;
    for (let j = 0; j < Math.min(r, EW); j++) if (flags[base + j] === INSIDE) n++;
    for (let j = 0; j < EW; j++) {
      if (j + r < EW && flags[base + j + r] === INSIDE) n++;
      if (n > 0) rows[base + j] = 1;
      if (j - r >= 0 && flags[base + j - r] === INSIDE) n--;
    }
  }
  const out = new Uint8Array(EW * EH);
  for (let j = 0; j < EW; j++) {
    let n = 0;
    for (let i = 0; i < Math.min(r, EH); i++) n += rows[i * EW + j]!;
    for (let i = 0; i < EH; i++) {
      if (i + r < EH) n += rows[(i + r) * EW + j]!;
      if (n > 0) out[i * EW + j] = 1;
      if (i - r >= 0) n -= rows[(i - r) * EW + j]!;
    }
  }
  return out;
}

/**
 * Min-heap of pixel indices keyed by (T, push number): pops in the order of
 * OpenCV's sorted list, which puts a new pixel after all with the same T.
 */
class PixelHeap {
  private readonly t: Float32Array;
  private readonly seq: Float64Array;
  private readonly idx: Int32Array;
  private pushed = 0;
  size = 0;

  constructor(capacity: number) {
    this.t = new Float32Array(capacity);
    this.seq = new Float64Array(capacity);
    this.idx = new Int32Array(capacity);
  }

  push(e: number, T: number): void {
    const { t, seq, idx } = this;
    const tv = f32(T);
    const sv = this.pushed++;
    let n = this.size++;
    while (n > 0) {
      const parent = (n - 1) >> 1;
      const pt = t[parent]!;
      if (pt < tv || (pt === tv && seq[parent]! < sv)) break;
      t[n] = pt;
      seq[n] = seq[parent]!;
      idx[n] = idx[parent]!;
      n = parent;
    }
    t[n] = tv;
    seq[n] = sv;
    idx[n] = e;
  }

  pop(): number {
    const { t, seq, idx } = this;
    const top = idx[0]!;
    const last = --this.size;
    if (last === 0) return top;
    const lt = t[last]!;
    const ls = seq[last]!;
    const li = idx[last]!;
    let n = 0;
    for (;;) {
      let c = 2 * n + 1;
      if (c >= last) break;
      const c2 = c + 1;
      if (c2 < last && (t[c2]! < t[c]! || (t[c2] === t[c] && seq[c2]! < seq[c]!))) c = c2;
      const ct = t[c]!;
      if (lt < ct || (lt === ct && ls < seq[c]!)) break;
      t[n] = ct;
      seq[n] = seq[c]!;
      idx[n] = idx[c]!;
      n = c;
    }
    t[n] = lt;
    seq[n] = ls;
    idx[n] = li;
    return top;
  }
}
