/**
 * Pictures of predictions: class maps as palette PNGs, and overlays
 * (image | ground truth | prediction) for a look by eye.
 */
import { writeFileAtomic } from '../../src/stage-api.ts';
import type { Raster } from '../lib/tf/data.ts';

type RGB = [number, number, number];

/** Colour of the ignore label in pictures (VOC's boundary colour). */
const IGNORE_COLOUR: RGB = [224, 224, 192];

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
