/**
 * Pictures of predictions: class maps as palette PNGs, and overlays
 * (image | ground truth | prediction) for a look by eye.
 */
import { writeFileAtomic } from '../../src/stage-api.ts';
import type { Raster } from '../lib/tf/data.ts';

type RGB = [number, number, number];

/** Colour of the ignore label in pictures (VOC's boundary colour). */
const IGNORE_COLOUR: RGB = [224, 224, 192];
/** Colour of a wrongly predicted pixel in error maps. */
const ERROR_COLOUR: RGB = [255, 40, 40];

function colourise(idx: ArrayLike<number>, palette: RGB[]): Uint8Array {
  const out = new Uint8Array(idx.length * 3);
  for (let i = 0; i < idx.length; i++) out.set(palette[idx[i]!] ?? IGNORE_COLOUR, i * 3);
  return out;
}

async function writePng(file: string, rgb: Uint8Array, width: number, height: number, palette: boolean): Promise<void> {
  const { default: sharp } = await import('sharp');
  // quality 100 and no dithering keep <= 256 distinct colours exact.
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png(palette ? { palette: true, colours: 256, quality: 100, dither: 0 } : {})
    .toBuffer();
  await writeFileAtomic(file, png);
}

/** Writes a class map as a palette PNG in the class colours. */
export function writePrediction(file: string, pred: ArrayLike<number>, width: number, height: number, palette: RGB[]): Promise<void> {
  return writePng(file, colourise(pred, palette), width, height, true);
}

/**
 * Writes the error map of one image for the report: red where the prediction
 * differs from the ground truth, the truth's colour dimmed where it agrees,
 * the ignore colour where the label is ignored. Returns the share of scored
 * pixels predicted wrong.
 */
export async function writeErrorMap(file: string, label: Raster, pred: ArrayLike<number>, palette: RGB[]): Promise<number> {
  const n = label.width * label.height;
  const out = new Uint8Array(n * 3);
  let wrong = 0;
  let scored = 0;
  for (let i = 0; i < n; i++) {
    const g = label.data[i]!;
    const c = palette[g];
    if (!c) {
      out.set(IGNORE_COLOUR, i * 3);
      continue;
    }
    scored++;
    if (pred[i] === g) out.set([40 + (c[0] >> 2), 40 + (c[1] >> 2), 40 + (c[2] >> 2)], i * 3);
    else {
      wrong++;
      out.set(ERROR_COLOUR, i * 3);
    }
  }
  await writePng(file, out, label.width, label.height, true);
  return scored ? wrong / scored : 0;
}

/** Writes image | ground truth | prediction side by side, masks blended over the image. */
export function writeOverlay(file: string, image: Raster, label: Raster, pred: ArrayLike<number>, palette: RGB[]): Promise<void> {
  const { width: W, height: H } = image;
  const gt = colourise(label.data, palette);
  const pr = colourise(pred, palette);
  const out = new Uint8Array(W * 3 * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = (y * W + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = image.data[s + c]!;
        const row = y * W * 3;
        out[(row + x) * 3 + c] = v;
        out[(row + W + x) * 3 + c] = Math.round(0.4 * v + 0.6 * gt[s + c]!);
        out[(row + 2 * W + x) * 3 + c] = Math.round(0.4 * v + 0.6 * pr[s + c]!);
      }
    }
  }
  return writePng(file, out, W * 3, H, false);
}
