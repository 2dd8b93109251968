/** One mask file through `convert`: read, check against its image, map colours, find instances, write. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { ItemContext } from '../../src/stage-api.ts';
import { imageError, IMAGE_EXTS, readSize, splitRel, writeImage } from '../lib/image/io.ts';
import { maskToRgb, readMask } from '../lib/image/mask-io.ts';
import { loadOpenCv } from '../lib/image/opencv.ts';
import { autoTolerance, binaryToLabels, colorsToLabels, groupColours } from '../lib/image/palette.ts';
import type { RgbImage } from '../lib/image/types.ts';
import { findInstances, type Instance } from './instances.ts';
import { convertPalette, type ConvertParams } from './params.ts';

/** What each mask contributes to the class balance and the COCO file. */
export interface MaskSummary {
  width: number;
  height: number;
  /** The matching image, relative to `params.images` (null without an images folder). */
  image: string | null;
  /** Pixels per class index. */
  counts: number[];
  unknown: number;
  /** Pixels snapped to a class colour within the tolerance (not exact). */
  snapped: number;
  /** The largest groups of unknown colours of this mask (see `groupColours`): `[0xRRGGBB, pixels]`. */
  unknownColours: [number, number][];
  /** Every pixel is black or white, and some are white (a binary 0/255 mask). */
  blackWhite: boolean;
  /** Fully transparent pixels (read as class 0's colour). */
  transparent: number;
  /** A 16-bit mask scaled to 8 bits. */
  scaled16: boolean;
  instances: Instance[];
}

/** A mask left out, and why (no file is written for it). */
export interface SkippedMask {
  skipped: 'no-image';
  message: string;
}

/**
 * Finds the image of a mask: same sub-folder and stem, any image extension in
 * any case (`a.png` mask -> `a.JPG` image). Several candidates are an error
 * because the pairing would be a guess; none is `undefined`.
 */
export async function findImageFor(imagesAbs: string, imagesRel: string, maskRel: string): Promise<string | undefined> {
  const { dir, stem } = splitRel(maskRel);
  const folder = path.join(imagesAbs, dir);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return undefined;
  }
  const hits = names.filter((n) => {
    const ext = path.extname(n);
    return path.basename(n, ext) === stem && IMAGE_EXTS.includes(ext.toLowerCase());
  });
  if (hits.length > 1) {
    throw imageError(maskRel, `several images match this mask: ${hits.sort().join(', ')}`, 'Keep one image per mask name.');
  }
  return hits.length ? path.posix.join(dir, hits[0]!) : undefined;
}

function isBlackWhite(m: RgbImage): boolean {
  const d = m.data;
  let white = false;
  for (let p = 0; p < d.length; p += 3) {
    const v = d[p]!;
    if ((v !== 0 && v !== 255) || d[p + 1] !== v || d[p + 2] !== v) return false;
    white ||= v === 255;
  }
  return white;
}

/** Converts one mask (the stage's processItem body). */
export async function convertItem(ctx: ItemContext<ConvertParams>): Promise<MaskSummary | SkippedMask> {
  const p = ctx.params;
  const palette = convertPalette(p);
  const maskName = path.posix.join(p.masks, ctx.rel);
  let image: string | null = null;
  if (p.images) {
    const found = await findImageFor(ctx.path(p.images), p.images, ctx.rel);
    if (!found) {
      const { dir, stem } = splitRel(ctx.rel);
      return { skipped: 'no-image', message: `${maskName}: no image named ${stem}.* in ${path.posix.join(p.images, dir)}` };
    }
    image = found;
  }
  const [cv, mask] = await Promise.all([loadOpenCv(), readMask(ctx.input, maskName, palette[0]!.color)]);
  if (image !== null) {
    const imageName = path.posix.join(p.images!, image);
    const size = await readSize(ctx.path(imageName), imageName);
    if (size.width !== mask.width || size.height !== mask.height) {
      throw imageError(
        maskName,
        `mask is ${mask.width}x${mask.height} but its image ${imageName} is ${size.width}x${size.height}`,
        'A mask must have the same size as its image (as displayed, EXIF orientation applied); re-export the mask or fix the pairing.',
      );
    }
  }
  const rgb = maskToRgb(mask);
  const tolerance = p.tolerance === 'auto' ? autoTolerance(palette) : p.tolerance;
  const r = p.binary ? binaryToLabels(rgb) : colorsToLabels(rgb, palette, p.ignoreLabel, tolerance);
  const classes = p.coco ? palette.map((e, i) => (isBackground(e.name) ? -1 : i)).filter((i) => i >= 0) : [];
  const instances = p.coco ? findInstances(cv, r.labels, classes, p.polygonEpsilon, p.cocoSegmentation) : [];
  const { dir, stem } = splitRel(ctx.rel);
  await writeImage(path.join(ctx.outDir, dir, `${stem}.png`), r.labels, { format: 'png' });
  if (r.unknown > 0) ctx.log(`${maskName}: ${r.unknown} pixels of colours not in the palette -> ${p.ignoreLabel}`);
  const unknownColours = groupColours(r.unknownColours).slice(0, 8);
  return {
    width: mask.width,
    height: mask.height,
    image,
    counts: r.counts,
    unknown: r.unknown,
    snapped: r.snapped,
    unknownColours,
    blackWhite: isBlackWhite(rgb),
    transparent: mask.transparent,
    scaled16: mask.scaled16,
    instances,
  };
}

/** Classes named `background` get no COCO category and no instances. */
export function isBackground(name: string): boolean {
  return name.toLowerCase() === 'background';
}
