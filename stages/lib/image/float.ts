/**
 * Helpers for float RGB work in OpenCV: images as CV_32FC3 Mats in [0, 1],
 * percentiles by histogram, clamping, the dark channel and the guided filter
 * (opencv.js has no ximgproc, so the guided filter is built from box filters).
 */
import type { CV, Mat } from './opencv.ts';
import { MatScope } from './opencv.ts';
import type { RgbImage } from './types.ts';

/** A new CV_32FC3 Mat in [0, 1] from 8-bit RGB (caller deletes it). */
export function floatMatFromRgb(cv: CV, img: RgbImage): Mat {
  const m = new cv.Mat(img.height, img.width, cv.CV_32FC3);
  const d = m.data32F;
  const s = img.data;
  for (let i = 0; i < s.length; i++) d[i] = s[i]! / 255;
  return m;
}

/** 8-bit RGB from a CV_32FC3 Mat in [0, 1] (values outside are clamped, rounded to nearest). */
export function rgbFromFloatMat(m: Mat): RgbImage {
  const d = m.data32F;
  const out = new Uint8Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = d[i]! * 255 + 0.5;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : v;
  }
  return { data: out, width: m.cols, height: m.rows };
}

/** Clamps a float Mat to [0, 1] in place. */
export function clamp01(cv: CV, m: Mat): void {
  cv.threshold(m, m, 1, 1, cv.THRESH_TRUNC);
  cv.threshold(m, m, 0, 0, cv.THRESH_TOZERO);
}

const BINS = 4096;

/**
 * Percentiles (0-100) of every `stride`-th float starting at `offset`, by a
 * 4096-bin histogram over [0, 1] (values outside are clamped): exact enough
 * for clipping and far cheaper than sorting a megapixel.
 */
export function percentiles(values: Float32Array, ps: number[], stride = 1, offset = 0): number[] {
  const hist = new Float64Array(BINS);
  let n = 0;
  for (let i = offset; i < values.length; i += stride, n++) {
    const v = values[i]!;
    const b = v <= 0 ? 0 : v >= 1 ? BINS - 1 : Math.floor(v * BINS);
    hist[b]!++;
  }
  return ps.map((p) => {
    const target = (p / 100) * n;
    let acc = 0;
    for (let b = 0; b < BINS; b++) {
      acc += hist[b]!;
      if (acc >= target && acc > 0) return (b + 0.5) / BINS;
    }
    return 1;
  });
}

/** Per-pixel minimum over the given channels of a CV_32FC3 Mat, then a `patch` x `patch` minimum filter. */
export function darkChannel(cv: CV, img: Mat, channels: number[], patch: number): Mat {
  const s = new MatScope();
  try {
    const planes = s.add(new cv.MatVector());
    cv.split(img, planes);
    const min = new cv.Mat();
    planes.get(channels[0]!).copyTo(min);
    for (const c of channels.slice(1)) {
      const p = planes.get(c);
      cv.min(min, p, min);
      p.delete();
    }
    if (patch > 1) {
      const k = s.add(cv.getStructuringElement(cv.MORPH_RECT, new cv.Size(patch, patch)));
      cv.erode(min, min, k, new cv.Point(-1, -1), 1, cv.BORDER_REFLECT);
    }
    return min;
  } finally {
    s.free();
  }
}

/**
 * He et al.'s guided filter with a single-channel guide: q = mean(a) I + mean(b),
 * a = cov(I, p) / (var(I) + eps), b = mean(p) - a mean(I), means over
 * (2r+1)^2 boxes. `guide` and `src` are CV_32FC1; returns a new Mat.
 */
export function guidedFilter(cv: CV, guide: Mat, src: Mat, radius: number, eps: number): Mat {
  const g = new GuidedFilter(cv, guide, radius, eps);
  try {
    return g.apply(src);
  } finally {
    g.delete();
  }
}

/**
 * The guided filter with the guide's own statistics (mean(I), var(I) + eps)
 * computed once, for filtering several sources with one guide (backscatter
 * refines each colour channel's floor with the image's grey): the same
 * operations on the same values as `guidedFilter` per source, so the same
 * bits, with 2 of the 6 box filters done once. Call `delete()` when done.
 */
export class GuidedFilter {
  private readonly s = new MatScope();
  private readonly size: InstanceType<CV['Size']>;
  private readonly meanI: Mat;
  private readonly denom: Mat;

  constructor(
    private readonly cv: CV,
    private readonly guide: Mat,
    radius: number,
    eps: number,
  ) {
    const s = this.s;
    try {
      this.size = new cv.Size(2 * radius + 1, 2 * radius + 1);
      this.meanI = s.add(this.box(guide, s));
      const corrII = this.box(this.mul(guide, guide, s), s);
      const varI = s.add(new cv.Mat());
      cv.subtract(corrII, this.mul(this.meanI, this.meanI, s), varI);
      this.denom = s.add(new cv.Mat());
      cv.add(varI, s.add(new cv.Mat(varI.rows, varI.cols, cv.CV_32F, new cv.Scalar(eps))), this.denom);
    } catch (e) {
      s.free();
      throw e;
    }
  }

  /** The filtered `src` (CV_32FC1, the guide's size) as a new Mat. */
  apply(src: Mat): Mat {
    const { cv, guide, meanI, denom } = this;
    const s = new MatScope();
    try {
      const meanP = this.box(src, s);
      const corrIp = this.box(this.mul(guide, src, s), s);
      const covIp = s.add(new cv.Mat());
      cv.subtract(corrIp, this.mul(meanI, meanP, s), covIp);
      const a = s.add(new cv.Mat());
      cv.divide(covIp, denom, a);
      const b = s.add(new cv.Mat());
      cv.subtract(meanP, this.mul(a, meanI, s), b);
      const q = new cv.Mat();
      cv.add(this.mul(this.box(a, s), guide, s), this.box(b, s), q);
      return q;
    } finally {
      s.free();
    }
  }

  delete(): void {
    this.s.free();
  }

  private box(m: Mat, s: MatScope): Mat {
    const o = s.add(new this.cv.Mat());
    this.cv.boxFilter(m, o, this.cv.CV_32F, this.size, new this.cv.Point(-1, -1), true, this.cv.BORDER_REFLECT);
    return o;
  }

  private mul(a: Mat, b: Mat, s: MatScope): Mat {
    const o = s.add(new this.cv.Mat());
    this.cv.multiply(a, b, o);
    return o;
  }
}

/** Grey (Rec. 601 luma) of a CV_32FC3 RGB Mat as a new CV_32FC1 Mat. */
export function greyOf(cv: CV, img: Mat): Mat {
  const g = new cv.Mat();
  cv.cvtColor(img, g, cv.COLOR_RGB2GRAY);
  return g;
}
