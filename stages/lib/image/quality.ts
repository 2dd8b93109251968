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

/**
 * Which implementation a UIQM or UCIQE number comes from. Published tables differ in arithmetic details that
 * move the numbers by more than the differences papers report, so `quality.json` names the variant.
 * - `pipe`: the definitions in the module comment (this project's own reading of the papers).
 * - `funie-gan` (UIQM): `Evaluation/uqim_utils.py` of the FUnIE-GAN repository (xahidbuffon/FUnIE-GAN), which
 *   most published UIQM tables of learned enhancers were computed with. See `uiqmFunie`.
 * - `jou-uip` (UCIQE): `UCIQE.py` of JOU-UIP/UCIQE, the Python port of the widely shared `UCIQE.m` (and the one
 *   BasicSR's `calculate_uciqe` cites). See `uciqeJou`.
 */
export type UiqmVariant = 'pipe' | 'funie-gan';
export type UciqeVariant = 'pipe' | 'jou-uip';

const f32 = Math.fround;

/**
 * UIQM as FUnIE-GAN's `uqim_utils.getUIQM` computes it, float32 where it works in float32:
 * - UICM: the trimmed mean sums sorted values from index ceil(0.1 K) + 1 (one past the paper's first kept value)
 *   to K - floor(0.1 K), in float32, and divides by K - ceil(0.1 K) - floor(0.1 K).
 * - UISM: each channel's Sobel magnitude (scipy `ndimage.sobel`, border reflected) is scaled so its maximum is
 *   255 before it multiplies the channel; EME over 10x10 blocks; weights 0.299, 0.587 and 0.144 (sic: not 0.114).
 * - UIConM: logAMEE with ordinary arithmetic (the script's PLIP call is commented out) over 10x10 blocks of the
 *   RGB image itself (max and min over all three channels of a block), not of an intensity image.
 * Blocks: floor(size / 10) of them each way (the script divides with Python 2's integer `/`; under Python 3 it
 * stops with a TypeError until `/` is read as `//`). The script's `measure_uiqm.py` first resizes every image to
 * 256x256; this function takes the image as it is.
 */
export function uiqmFunie(img: RgbImage): Uiqm {
  const { width, height, data } = img;
  const n = width * height;
  // UICM
  const rg = new Float32Array(n);
  const yb = new Float32Array(n);
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    rg[i] = data[p]! - data[p + 1]!;
    yb[i] = (data[p]! + data[p + 1]!) / 2 - data[p + 2]!;
  }
  const muA = (x: Float32Array): number => {
    const s = Float32Array.from(x).sort();
    const k = s.length;
    const tl = Math.ceil(0.1 * k);
    const tr = Math.floor(0.1 * k);
    let sum = 0;
    for (let i = tl + 1; i < k - tr; i++) sum = f32(sum + s[i]!);
    return f32((1 / (k - tl - tr)) * sum);
  };
  const sA = (x: Float32Array, mu: number): number => {
    let v = 0;
    for (let i = 0; i < x.length; i++) v += f32(x[i]! - mu) ** 2;
    return v / x.length;
  };
  const mRg = muA(rg);
  const mYb = muA(yb);
  const colour = -0.0268 * Math.sqrt(mRg ** 2 + mYb ** 2) + 0.1586 * Math.sqrt(sA(rg, mRg) + sA(yb, mYb));
  // UISM
  const B = 10;
  const k1 = Math.floor(width / B);
  const k2 = Math.floor(height / B);
  const weights = [0.299, 0.587, 0.144];
  let uism = 0;
  for (let c = 0; c < 3; c++) {
    const ch = channel(img, c);
    const mag = sobelMagnitude(ch, width, height);
    let max = 0;
    for (let i = 0; i < n; i++) mag[i] = f32(mag[i]!);
    for (let i = 0; i < n; i++) if (mag[i]! > max) max = mag[i]!;
    const scale = f32(255 / max);
    for (let i = 0; i < n; i++) mag[i] = f32(f32(mag[i]! * scale) * ch[i]!);
    let sum = 0;
    forBlocks(mag, width, height, B, (min, mx) => {
      if (min !== 0 && mx !== 0) sum += Math.log(f32(mx / min));
    });
    uism += weights[c]! * (2 / (k1 * k2)) * sum;
  }
  // UIConM over RGB blocks
  let val = 0;
  for (let by = 0; by < k2; by++) {
    for (let bx = 0; bx < k1; bx++) {
      let min = 255;
      let max = 0;
      for (let y = by * B; y < (by + 1) * B; y++) {
        for (let p = (y * width + bx * B) * 3, e = p + 3 * B; p < e; p++) {
          const t = data[p]!;
          if (t < min) min = t;
          if (t > max) max = t;
        }
      }
      const top = max - min;
      const bot = max + min;
      if (top !== 0 && bot !== 0) {
        const r = f32(top / bot);
        val += r * Math.log(r);
      }
    }
  }
  const uiconm = (-1 / (k1 * k2)) * val;
  return { uiqm: 0.0282 * colour + 0.2953 * uism + 3.5753 * uiconm, uicm: colour, uism, uiconm };
}

/** OpenCV's 8-bit Lab (cvtColor RGB2Lab on CV_8U): L * 255/100, a + 128, b + 128, rounded. */
export function srgbToLab8(r: number, g: number, b: number): [number, number, number] {
  const [l, a, bb] = srgbToLab(r, g, b);
  const q = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  return [q((l * 255) / 100), q(a + 128), q(bb + 128)];
}

/**
 * UCIQE as JOU-UIP's `UCIQE.py` (the port of the widely used `UCIQE.m`) computes it, on OpenCV's 8-bit Lab
 * divided by 255, a and b keeping their +128 offset. Pass OpenCV's Lab (`lab8Of` in mat.ts) to match the script
 * to rounding; without it the Lab is ours rounded to 8 bits, which differs from OpenCV's fixed-point tables by one
 * level on some pixels (UCIQE within ~0.003 of the script on the test images).
 *
 *   chroma C = sqrt(a^2 + b^2); saturation S = C / sqrt(C^2 + L^2); mu_s = mean S;
 *   sigma_c = sqrt(mean |1 - (mean C / C)^2|)  (the script's "variance of chroma");
 *   con_l = (i_hi - i_lo) / 65535, where a 65536-bin histogram spans [min L, max L] (numpy's default range) and
 *   i_lo / i_hi are the first bins whose cumulative share is > 1% / >= 99%.
 */
export function uciqeJou(img: RgbImage, lab8?: Uint8Array): Uciqe {
  const n = img.width * img.height;
  if (n === 0) return { uciqe: 0, sigmaC: 0, conL: 0, muS: 0 };
  const d = img.data;
  if (lab8 && lab8.length !== d.length) throw new Error(`uciqeJou: Lab has ${lab8.length} values for ${d.length} RGB values`);
  const lum = new Float64Array(n);
  const chr = new Float64Array(n);
  let sumSat = 0;
  let sumChr = 0;
  const cache = new Map<number, [number, number]>();
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    const key = lab8 ? (lab8[p]! << 16) | (lab8[p + 1]! << 8) | lab8[p + 2]! : (d[p]! << 16) | (d[p + 1]! << 8) | d[p + 2]!;
    let lc = cache.get(key);
    if (!lc) {
      const [l8, a8, b8] = lab8 ? [lab8[p]!, lab8[p + 1]!, lab8[p + 2]!] : srgbToLab8(d[p]!, d[p + 1]!, d[p + 2]!);
      lc = [l8 / 255, Math.sqrt((a8 / 255) ** 2 + (b8 / 255) ** 2)];
      if (cache.size < 65536) cache.set(key, lc);
    }
    lum[i] = lc[0];
    chr[i] = lc[1];
    sumChr += lc[1];
    sumSat += lc[1] / Math.sqrt(lc[1] ** 2 + lc[0] ** 2);
  }
  const muS = sumSat / n;
  const meanChr = sumChr / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += Math.abs(1 - (meanChr / chr[i]!) ** 2);
  const sigmaC = Math.sqrt(v / n);
  // numpy.histogram(lum, 65536): uniform bins over [min, max] (widened by 0.5 each way when flat)
  const bins = 65536;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (lum[i]! < lo) lo = lum[i]!;
    if (lum[i]! > hi) hi = lum[i]!;
  }
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const step = (hi - lo) / bins;
  const edge = (k: number) => (k === bins ? hi : lo + k * step);
  const norm = bins / (hi - lo);
  const hist = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const x = lum[i]!;
    let k = Math.trunc((x - lo) * norm);
    if (k === bins) k--;
    if (x < edge(k)) k--;
    else if (k !== bins - 1 && x >= edge(k + 1)) k++;
    hist[k]!++;
  }
  let acc = 0;
  let iLo = -1;
  let iHi = -1;
  for (let k = 0; k < bins && iHi < 0; k++) {
    acc += hist[k]!;
    if (iLo < 0 && acc / n > 0.01) iLo = k;
    if (acc / n >= 0.99) iHi = k;
  }
  const conL = (iHi - 1) / (bins - 1) - (iLo - 1) / (bins - 1);
  return { uciqe: 0.468 * sigmaC + 0.2745 * conL + 0.2576 * muS, sigmaC, conL, muS };
}

/** UIQM by the named variant (`block` applies to `pipe` only: FUnIE-GAN's is fixed at 10). */
export function uiqmOf(img: RgbImage, variant: UiqmVariant, block = 8): Uiqm {
  return variant === 'funie-gan' ? uiqmFunie(img) : uiqm(img, block);
}

/** UCIQE by the named variant (`lab8`: OpenCV's 8-bit Lab of `img`, used by `jou-uip`). */
export function uciqeOf(img: RgbImage, variant: UciqeVariant, lab8?: Uint8Array): Uciqe {
  return variant === 'jou-uip' ? uciqeJou(img, lab8) : uciqe(img);
}
