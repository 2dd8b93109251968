/**
 * Images for the report, as data URIs so the HTML is one self-contained
 * file: downscaled with sharp (max 256 px a side by default) to keep it
 * small, plus the derived pictures the report shows (coloured labels, an
 * error map of prediction against ground truth).
 */
import sharp from 'sharp';

export const THUMB_MAX = 256;

/** Default class colours (VOC-style: background, valve, pipe), as evaluate uses. */
export const DEFAULT_PALETTE: [number, number, number][] = [
  [0, 0, 0],
  [128, 0, 0],
  [0, 128, 0],
];

function dataUri(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

/**
 * A downscaled data URI of an image file, or an error message when it cannot
 * be read. Photos stored as JPEG stay JPEG (a PNG of a photo is several times
 * larger); everything else (labels, masks, predictions) becomes a lossless PNG.
 */
export async function thumbnail(abs: string, max = THUMB_MAX): Promise<{ uri: string } | { error: string }> {
  try {
    // autoOrient: a photo's EXIF rotation, so thumbnails show what a viewer shows (as the stages read it).
    const img = sharp(abs).autoOrient();
    const { format } = await img.metadata();
    const small = img.resize({ width: max, height: max, fit: 'inside', withoutEnlargement: true });
    if (format === 'jpeg') return { uri: `data:image/jpeg;base64,${(await small.jpeg({ quality: 80 }).toBuffer()).toString('base64')}` };
    return { uri: dataUri(await small.png().toBuffer()) };
  } catch (e) {
    return { error: `cannot read ${abs}: ${(e as Error).message}` };
  }
}

interface Rgb {
  data: Buffer;
  width: number;
  height: number;
}

async function rgbAt(abs: string, width?: number, height?: number): Promise<Rgb> {
  let img = sharp(abs).autoOrient().removeAlpha().toColourspace('srgb');
  // Nearest neighbour: label images must keep exact class colours.
  if (width && height) img = img.resize(width, height, { fit: 'fill', kernel: 'nearest' });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** True when every pixel is grey with a small value or 255: an index label image rather than a colour mask. */
function looksLikeIndexLabels(img: Rgb, classes: number): boolean {
  for (let i = 0; i < img.data.length; i += 3) {
    const r = img.data[i]!;
    if (r !== img.data[i + 1] || r !== img.data[i + 2]) return false;
    if (r >= classes && r !== 255) return false;
  }
  return true;
}

const IGNORE = [96, 96, 96] as const;

/** Index labels to palette colours (255 = ignore, shown grey); colour masks pass through. */
function colourise(img: Rgb, palette: [number, number, number][]): Rgb {
  if (!looksLikeIndexLabels(img, palette.length)) return img;
  const out = Buffer.alloc(img.data.length);
  for (let i = 0; i < img.data.length; i += 3) {
    const c = palette[img.data[i]!] ?? IGNORE;
    out[i] = c[0];
    out[i + 1] = c[1];
    out[i + 2] = c[2];
  }
  return { ...img, data: out };
}

async function encode(img: Rgb): Promise<string> {
  const png = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
  return dataUri(png);
}

export interface LabelPictures {
  /** Ground truth in class colours. */
  truth: string;
  /** Red where the prediction differs from the ground truth, dimmed truth elsewhere; ignored pixels grey. */
  errors: string;
  /** Share of (non-ignored) pixels predicted wrong. */
  errorRate: number;
}

/**
 * Ground truth and error map of one sample, both downscaled to the
 * thumbnail size. The prediction is a palette PNG; the ground truth may be
 * index labels or a colour mask in the same palette.
 */
export async function labelPictures(truthAbs: string, predAbs: string, palette = DEFAULT_PALETTE, max = THUMB_MAX): Promise<LabelPictures | { error: string }> {
  try {
    const meta = await sharp(predAbs).metadata();
    // The displayed size: EXIF orientations 5-8 swap width and height.
    const w0 = meta.autoOrient?.width ?? meta.width ?? 1;
    const h0 = meta.autoOrient?.height ?? meta.height ?? 1;
    const scale = Math.min(1, max / Math.max(w0, h0));
    const width = Math.max(1, Math.round(w0 * scale));
    const height = Math.max(1, Math.round(h0 * scale));
    const [truthRaw, pred] = await Promise.all([rgbAt(truthAbs, width, height), rgbAt(predAbs, width, height)]);
    const truth = colourise(truthRaw, palette);
    const errs = Buffer.alloc(truth.data.length);
    let wrong = 0;
    let counted = 0;
    for (let i = 0; i < truth.data.length; i += 3) {
      const t = [truth.data[i]!, truth.data[i + 1]!, truth.data[i + 2]!];
      const ignored = t[0] === IGNORE[0] && t[1] === IGNORE[1] && t[2] === IGNORE[2];
      const same = t[0] === pred.data[i] && t[1] === pred.data[i + 1] && t[2] === pred.data[i + 2];
      if (!ignored) counted++;
      if (ignored) errs.set(IGNORE, i);
      else if (same) errs.set([40 + (t[0]! >> 2), 40 + (t[1]! >> 2), 40 + (t[2]! >> 2)], i);
      else {
        wrong++;
        errs.set([255, 40, 40], i);
      }
    }
    return { truth: await encode(truth), errors: await encode({ ...truth, data: errs }), errorRate: counted ? wrong / counted : 0 };
  } catch (e) {
    return { error: `cannot compare ${truthAbs} with ${predAbs}: ${(e as Error).message}` };
  }
}
