/**
 * No-reference underwater image quality measures. Neither sharp nor OpenCV has
 * them, so they are written here, on 8-bit RGB, in plain loops.
 *
 * UIQM (Panetta, Gao, Agaian 2016):
 *   UIQM = 0.0282 UICM + 0.2953 UISM + 3.5753 UIConM
 *   - UICM (colourfulness): RG = R - G, YB = (R + G)/2 - B; alpha-trimmed mean
 *     (drop ceil(0.1 K) lowest and floor(0.1 K) highest of K values) mu and
 *     variance s2 = mean((x - mu)^2) over all K values;
 *     UICM = -0.0268 sqrt(muRG^2 + muYB^2) + 0.1586 sqrt(s2RG + s2YB).
 *   - UISM (sharpness): per channel the Sobel gradient magnitude (3x3, border
 *     mirrored) times the channel gives an edge map; its EME over B x B
 *     blocks (whole blocks only), EME = 2/(k1 k2) sum ln(max/min), blocks with
 *     min 0 count 0; UISM = 0.299 EME_R + 0.587 EME_G + 0.114 EME_B.
 *   - UIConM (contrast): logAMEE of the intensity (R+G+B)/3 over the same
 *     blocks with ordinary arithmetic in place of the paper's PLIP operators:
 *     -1/(k1 k2) sum (d/s) ln(d/s), d = max - min, s = max + min; blocks with
 *     d = 0 count 0.
 * UCIQE (Yang and Sowmya 2015), in CIELab (D65, sRGB), scaled L/100, a/100, b/100:
 *   UCIQE = 0.4680 sigma_c + 0.2745 con_l + 0.2576 mu_s
 *   sigma_c = population standard deviation of chroma C = sqrt(a^2 + b^2);
 *   con_l = mean of the brightest 1% of L minus mean of the darkest 1% (at least one pixel each);
 *   mu_s = mean saturation C / L (0 where L = 0).
 */
import type { RgbImage } from './types.ts';

/** UIQM and its three parts. */
export interface Uiqm {
  uiqm: number;
  uicm: number;
  uism: number;
  uiconm: number;
}

/** UCIQE and its three parts. */
export interface Uciqe {
  uciqe: number;
  sigmaC: number;
  conL: number;
  muS: number;
}

/** Alpha-trimmed mean (paper's T_L = ceil(aL K), T_R = floor(aR K)) and variance about it. */
export function trimmedStats(values: Float32Array, alphaL = 0.1, alphaR = 0.1): { mean: number; variance: number } {
  const k = values.length;
  if (k === 0) return { mean: 0, variance: 0 };
  const sorted = Float32Array.from(values).sort();
  const lo = Math.ceil(alphaL * k);
  const hi = k - Math.floor(alphaR * k);
  let sum = 0;
  for (let i = lo; i < hi; i++) sum += sorted[i]!;
  const mean = hi > lo ? sum / (hi - lo) : 0;
  let v = 0;
  for (let i = 0; i < k; i++) v += (values[i]! - mean) ** 2;
  return { mean, variance: v / k };
}

/** UICM, the colourfulness part of UIQM. */
export function uicm(img: RgbImage): number {
  const n = img.width * img.height;
  const rg = new Float32Array(n);
  const yb = new Float32Array(n);
  const d = img.data;
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    rg[i] = d[p]! - d[p + 1]!;
    yb[i] = (d[p]! + d[p + 1]!) / 2 - d[p + 2]!;
  }
  const a = trimmedStats(rg);
  const b = trimmedStats(yb);
  return -0.0268 * Math.sqrt(a.mean ** 2 + b.mean ** 2) + 0.1586 * Math.sqrt(a.variance + b.variance);
}

/**
 * Sobel gradient magnitude of one channel (3x3), border mirrored with the edge
 * pixel repeated (OpenCV BORDER_REFLECT, scipy's default): with reflect-101 the
 * gradient across the border would be 0 and every corner block of the EME
 * would count 0.
 */
export function sobelMagnitude(ch: Float32Array, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  const rx = (x: number) => (x < 0 ? 0 : x >= width ? width - 1 : x);
  const ry = (y: number) => (y < 0 ? 0 : y >= height ? height - 1 : y);
  for (let y = 0; y < height; y++) {
    const y0 = ry(y - 1) * width;
    const y1 = y * width;
    const y2 = ry(y + 1) * width;
    for (let x = 0; x < width; x++) {
      const x0 = rx(x - 1);
      const x2 = rx(x + 1);
      const gx = ch[y0 + x2]! + 2 * ch[y1 + x2]! + ch[y2 + x2]! - ch[y0 + x0]! - 2 * ch[y1 + x0]! - ch[y2 + x0]!;
      const gy = ch[y2 + x0]! + 2 * ch[y2 + x]! + ch[y2 + x2]! - ch[y0 + x0]! - 2 * ch[y0 + x]! - ch[y0 + x2]!;
      out[y1 + x] = Math.hypot(gx, gy);
    }
  }
  return out;
}

/** Calls `fn(min, max)` for each whole `block x block` tile; returns the tile count. */
function forBlocks(v: Float32Array, width: number, height: number, block: number, fn: (min: number, max: number) => void): number {
  const k1 = Math.floor(width / block);
  const k2 = Math.floor(height / block);
  for (let by = 0; by < k2; by++) {
    for (let bx = 0; bx < k1; bx++) {
      let min = Infinity;
      let max = -Infinity;
      for (let y = by * block; y < (by + 1) * block; y++) {
        for (let x = bx * block, i = y * width + x; x < (bx + 1) * block; x++, i++) {
          const t = v[i]!;
          if (t < min) min = t;
          if (t > max) max = t;
        }
      }
      fn(min, max);
    }
  }
  return k1 * k2;
}

/** EME = 2/(k1 k2) sum ln(max/min) over whole blocks; blocks with min 0 count 0. */
export function eme(v: Float32Array, width: number, height: number, block: number): number {
  let sum = 0;
  const blocks = forBlocks(v, width, height, block, (min, max) => {
    if (min > 0) sum += Math.log(max / min);
  });
  return blocks === 0 ? 0 : (2 / blocks) * sum;
}

/** logAMEE with ordinary arithmetic: -1/(k1 k2) sum (d/s) ln(d/s). */
export function logAmee(v: Float32Array, width: number, height: number, block: number): number {
  let sum = 0;
  const blocks = forBlocks(v, width, height, block, (min, max) => {
    const d = max - min;
    const s = max + min;
    if (d > 0 && s > 0) sum += (d / s) * Math.log(d / s);
  });
  return blocks === 0 || sum === 0 ? 0 : -sum / blocks;
}

function channel(img: RgbImage, c: number): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = img.data[i * 3 + c]!;
  return out;
}

/** UIQM of an 8-bit RGB image; `block` is the EME/logAMEE tile size (default 8). */
export function uiqm(img: RgbImage, block = 8): Uiqm {
  const { width, height } = img;
  const weights = [0.299, 0.587, 0.114];
  let uism = 0;
  for (let c = 0; c < 3; c++) {
    const ch = channel(img, c);
    const edges = sobelMagnitude(ch, width, height);
    for (let i = 0; i < edges.length; i++) edges[i] = edges[i]! * ch[i]!;
    uism += weights[c]! * eme(edges, width, height, block);
  }
  const n = width * height;
  const intensity = new Float32Array(n);
  for (let i = 0, p = 0; i < n; i++, p += 3) intensity[i] = (img.data[p]! + img.data[p + 1]! + img.data[p + 2]!) / 3;
  const uiconm = logAmee(intensity, width, height, block);
  const colour = uicm(img);
  return { uiqm: 0.0282 * colour + 0.2953 * uism + 3.5753 * uiconm, uicm: colour, uism, uiconm };
}

const SRGB_TO_LINEAR = (() => {
  const t = new Float64Array(256);
  for (let i = 0; i < 256; i++) {
    const c = i / 255;
    t[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }
  return t;
})();

function labF(t: number): number {
  return t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116;
}

/** CIELab (D65) of one 8-bit sRGB colour: L in [0, 100], a and b roughly [-128, 127]. */
export function srgbToLab(r: number, g: number, b: number): [number, number, number] {
  const R = SRGB_TO_LINEAR[r]!;
  const G = SRGB_TO_LINEAR[g]!;
  const B = SRGB_TO_LINEAR[b]!;
  const x = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / 0.95047;
  const y = 0.2126729 * R + 0.7151522 * G + 0.072175 * B;
  const z = (0.0193339 * R + 0.119192 * G + 0.9503041 * B) / 1.08883;
  const fx = labF(x);
  const fy = labF(y);
  const fz = labF(z);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** UCIQE of an 8-bit RGB image (see the module comment for the exact definition). */
export function uciqe(img: RgbImage): Uciqe {
  const n = img.width * img.height;
  if (n === 0) return { uciqe: 0, sigmaC: 0, conL: 0, muS: 0 };
  const L = new Float32Array(n);
  let sumC = 0;
  let sumC2 = 0;
  let sumS = 0;
  const cache = new Map<number, [number, number]>();
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    const key = (img.data[p]! << 16) | (img.data[p + 1]! << 8) | img.data[p + 2]!;
    let lc = cache.get(key);
    if (!lc) {
      const [l, a, b] = srgbToLab(img.data[p]!, img.data[p + 1]!, img.data[p + 2]!);
      lc = [l / 100, Math.hypot(a, b) / 100];
      if (cache.size < 65536) cache.set(key, lc);
    }
    const [l, c] = lc;
    L[i] = l;
    sumC += c;
    sumC2 += c * c;
    if (l > 0) sumS += c / l;
  }
  const meanC = sumC / n;
  const sigmaC = Math.sqrt(Math.max(0, sumC2 / n - meanC * meanC));
  L.sort();
  const k = Math.max(1, Math.round(0.01 * n));
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < k; i++) {
    lo += L[i]!;
    hi += L[n - 1 - i]!;
  }
  const conL = (hi - lo) / k;
  const muS = sumS / n;
  return { uciqe: 0.468 * sigmaC + 0.2745 * conL + 0.2576 * muS, sigmaC, conL, muS };
}
