/** Plain image records passed between sharp, OpenCV and the stages. */

/** Interleaved 8-bit RGB, row-major, no padding. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Single-channel 8-bit image (labels, masks). */
export interface GrayImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Output formats the stages write. */
export type ImageFormat = 'png' | 'jpg';
