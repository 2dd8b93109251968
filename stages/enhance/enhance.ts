/** Runs an `enhance` op list over one 8-bit RGB image. */
import { floatMatFromRgb, rgbFromFloatMat } from '../lib/image/float.ts';
import type { CV } from '../lib/image/opencv.ts';
import type { RgbImage } from '../lib/image/types.ts';
import { applyOp } from './ops.ts';
import type { Op } from './schema.ts';

/** Applies `ops` in order (float RGB in [0, 1] between them, rounded to 8-bit once at the end). */
export function enhance(cv: CV, img: RgbImage, ops: Op[]): RgbImage {
  const m = floatMatFromRgb(cv, img);
  try {
    for (const op of ops) applyOp(cv, m, op);
    return rgbFromFloatMat(m);
  } finally {
    m.delete();
  }
}
