/**
 * Moving pixels between plain arrays and OpenCV Mats. Each direction is one
 * copy (into or out of the wasm heap), which cannot be avoided: sharp's
 * buffers live in the JS heap and a Mat's data in wasm memory, and a view
 * into wasm memory is invalidated when the heap grows or the Mat is freed.
 */
import type { CV, Mat } from './opencv.ts';
import type { GrayImage, RgbImage } from './types.ts';

/** A new CV_8UC3 Mat holding a copy of the RGB pixels (caller deletes it). */
export function matFromRgb(cv: CV, img: RgbImage): Mat {
  const m = new cv.Mat(img.height, img.width, cv.CV_8UC3);
  m.data.set(img.data);
  return m;
}

/** A new CV_8UC1 Mat holding a copy of grey pixels (caller deletes it). */
export function matFromGray(cv: CV, img: GrayImage): Mat {
  const m = new cv.Mat(img.height, img.width, cv.CV_8UC1);
  m.data.set(img.data);
  return m;
}

/** Copies a continuous CV_8UC3 Mat out of the wasm heap. */
export function rgbFromMat(m: Mat): RgbImage {
  if (m.channels() !== 3 || m.elemSize1() !== 1) throw new Error(`rgbFromMat: expected CV_8UC3, got type ${m.type()}`);
  return { data: m.data.slice(), width: m.cols, height: m.rows };
}

/** Copies a continuous CV_8UC1 Mat out of the wasm heap. */
export function grayFromMat(m: Mat): GrayImage {
  if (m.channels() !== 1 || m.elemSize1() !== 1) throw new Error(`grayFromMat: expected CV_8UC1, got type ${m.type()}`);
  return { data: m.data.slice(), width: m.cols, height: m.rows };
}

/** OpenCV's 8-bit Lab of RGB pixels (L * 255/100, a + 128, b + 128; OpenCV's own bit-exact tables), interleaved. */
export function lab8Of(cv: CV, img: RgbImage): Uint8Array {
  const m = matFromRgb(cv, img);
  const lab = new cv.Mat();
  try {
    cv.cvtColor(m, lab, cv.COLOR_RGB2Lab);
    return lab.data.slice();
  } finally {
    m.delete();
    lab.delete();
  }
}
