/**
 * Laser-line and highlight removal on one image (OpenCV in wasm plus our own code):
 * glare mask -> dilate (ellipse) -> inpaint -> optional halo removal -> blur.
 * The defaults are the study's recipe: grey > 100, 15x20 ellipse x3,
 * Telea radius 15, Gaussian 5x5. Telea inpainting and the binary dilation are
 * our versions of OpenCV's (stages/lib/image/inpaint-telea.ts, its disc sum in WebAssembly,
 * dilate.ts: same results, less CPU), the rest opencv.js.
 */
import type { CV, Mat } from '../lib/image/opencv.ts';
import { MatScope } from '../lib/image/opencv.ts';
import { inpaintTelea } from '../lib/image/inpaint-telea.ts';
import { dilateBinary, type Kernel } from '../lib/image/dilate.ts';
import { grayFromMat, matFromGray, matFromRgb, rgbFromMat } from '../lib/image/mat.ts';
import type { GrayImage, RgbImage } from '../lib/image/types.ts';
import type { DeglareParams } from './params.ts';

export type DeglareOptions = Omit<DeglareParams, 'images' | 'out' | 'format' | 'quality' | 'pngCompression'>;

export interface DeglareResult {
  image: RgbImage;
  /** The dilated glare mask that was inpainted (255 = glare). */
  mask: GrayImage;
  /** Fraction of pixels in the dilated mask. */
  fraction: number;
  /** Fraction of pixels detected as glare before dilation. */
  rawFraction: number;
  /** Grey threshold used (the percentile's value for method `percentile`; -1 for `color`). */
  threshold: number;
}

/** Grey level at percentile `p` (0-100) of an 8-bit grey Mat, via its histogram. */
export function greyPercentile(grey: Mat, p: number): number {
  const hist = new Float64Array(256);
  const d = grey.data;
  for (let i = 0; i < d.length; i++) hist[d[i]!]!++;
  const target = (p / 100) * d.length;
  let acc = 0;
  for (let v = 0; v < 256; v++) {
    acc += hist[v]!;
    if (acc >= target) return v;
  }
  return 255;
}

/** Writes the raw (undilated) glare mask of `rgb` into `mask` (CV_8UC1, 255 = glare); returns the threshold used. */
function detect(cv: CV, rgb: Mat, mask: Mat, o: DeglareOptions, s: MatScope): number {
  if (o.method === 'color') {
    // Green-dominant, saturated pixels: laser light, not white highlights.
    const n = rgb.rows * rgb.cols;
    mask.create(rgb.rows, rgb.cols, cv.CV_8UC1);
    const src = rgb.data;
    const dst = mask.data;
    const { minGreen, dominance } = o.color;
    for (let i = 0, p = 0; i < n; i++, p += 3) {
      const g = src[p + 1]!;
      dst[i] = g >= minGreen && g - Math.max(src[p]!, src[p + 2]!) >= dominance ? 255 : 0;
    }
    return -1;
  }
  const grey = s.add(new cv.Mat());
  cv.cvtColor(rgb, grey, cv.COLOR_RGB2GRAY);
  const t = o.method === 'threshold' ? o.threshold : Math.min(254, greyPercentile(grey, o.percentile));
  cv.threshold(grey, mask, t, 255, cv.THRESH_BINARY);
  return t;
}

/**
 * Subtracts the diffuse glow around the lines. Model: inside a ring around the
 * mask, I = J + H with H smooth and positive. The background J is estimated
 * from pixels outside the ring by normalised convolution (a blur weighted by
 * "outside"), the local level by a blur of the image; H = max(0, level -
 * background), faded out towards the ring's outer edge.
 */
function removeHalo(cv: CV, img: Mat, mask: Mat, o: DeglareOptions, s: MatScope): void {
  const { width, sigma, strength } = o.halo;
  const k = 2 * width + 1;
  const ringKernel = s.add(cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(k, k)));
  const near = s.add(new cv.Mat());
  cv.dilate(mask, near, ringKernel);
  // weight 1 far from the lines, 0 near them
  const far = s.add(new cv.Mat());
  cv.threshold(near, far, 0, 1, cv.THRESH_BINARY_INV);
  const farF = s.add(new cv.Mat());
  far.convertTo(farF, cv.CV_32F);
  const imgF = s.add(new cv.Mat());
  img.convertTo(imgF, cv.CV_32FC3);
  const bigSigma = Math.max(width, 3 * sigma);
  const ksize = new cv.Size(0, 0);
  // normalised convolution of the far pixels: background level near the lines
  const farF3 = s.add(new cv.Mat());
  const planes = s.add(new cv.MatVector());
  planes.push_back(farF);
  planes.push_back(farF);
  planes.push_back(farF);
  cv.merge(planes, farF3);
  const num = s.add(new cv.Mat());
  cv.multiply(imgF, farF3, num);
  cv.GaussianBlur(num, num, ksize, bigSigma, bigSigma, cv.BORDER_REFLECT);
  const den = s.add(new cv.Mat());
  cv.GaussianBlur(farF3, den, ksize, bigSigma, bigSigma, cv.BORDER_REFLECT);
  const level = s.add(new cv.Mat());
  cv.GaussianBlur(imgF, level, ksize, sigma, sigma, cv.BORDER_REFLECT);
  // feathered ring weight: 1 at the lines, fading to 0 at the ring's edge
  const nearF = s.add(new cv.Mat());
  near.convertTo(nearF, cv.CV_32F, 1 / 255);
  cv.GaussianBlur(nearF, nearF, ksize, width / 2, width / 2, cv.BORDER_REFLECT);
  const n = img.rows * img.cols;
  const out = img.data;
  const nd = num.data32F;
  const dd = den.data32F;
  const ld = level.data32F;
  const wd = nearF.data32F;
  const fd = far.data;
  for (let i = 0; i < n; i++) {
    const w = wd[i]!;
    if (w <= 0.001 || fd[i] === 1) continue;
    const denom = dd[i * 3]!;
    if (denom < 1e-3) continue; // no far pixels nearby: nothing to compare with
    for (let c = 0; c < 3; c++) {
      const j = i * 3 + c;
      const glow = ld[j]! - nd[j]! / denom;
      if (glow > 0) out[j] = Math.max(0, Math.min(255, Math.round(out[j]! - strength * w * glow)));
    }
  }
}

/** OpenCV's own ellipse (getStructuringElement), so the shape is exactly the study's, copied out of the wasm heap. */
function ellipseKernel(cv: CV, width: number, height: number, s: MatScope): Kernel {
  return grayFromMat(s.add(cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(width, height))));
}

/** Runs the whole deglare recipe on one RGB image. */
export function deglare(cv: CV, img: RgbImage, o: DeglareOptions): DeglareResult {
  const s = new MatScope();
  try {
    const rgb = s.add(matFromRgb(cv, img));
    const raw = s.add(new cv.Mat());
    const threshold = detect(cv, rgb, raw, o, s);
    const rawCount = cv.countNonZero(raw);
    const rawImg = grayFromMat(raw);
    // our bit-packed dilation: the same pixels as cv.dilate, several times faster (see dilate.ts)
    const maskImg = o.iterations > 0 ? dilateBinary(rawImg, ellipseKernel(cv, o.kernel[0], o.kernel[1], s), o.iterations) : rawImg;
    let count = 0;
    for (let i = 0; i < maskImg.data.length; i++) if (maskImg.data[i] !== 0) count++;
    // a Mat of the mask only for the steps that run in OpenCV
    let maskMat: Mat | undefined;
    const mask = () => (maskMat ??= s.add(matFromGray(cv, maskImg)));
    let result = rgb;
    if (count > 0) {
      if (o.inpaint === 'telea') {
        // our Telea (same algorithm, ~40% less CPU than opencv.js's: the stage's speed goal)
        result = s.add(matFromRgb(cv, inpaintTelea(img, maskImg, o.radius)));
      } else {
        result = s.add(new cv.Mat());
        cv.inpaint(rgb, mask(), result, o.radius, o.inpaint === 'telea-opencv' ? cv.INPAINT_TELEA : cv.INPAINT_NS);
      }
      if (o.halo.enabled) removeHalo(cv, result, mask(), o, s);
    }
    if (o.blur > 0) {
      const blurred = s.add(new cv.Mat());
      cv.GaussianBlur(result, blurred, new cv.Size(o.blur, o.blur), 0, 0, cv.BORDER_DEFAULT);
      result = blurred;
    }
    const n = img.width * img.height;
    return { image: rgbFromMat(result), mask: maskImg, fraction: count / n, rawFraction: rawCount / n, threshold };
  } finally {
    s.free();
  }
}
