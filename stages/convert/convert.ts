/** One mask file through `convert`: read, check against its image, map colours, find instances, write. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { ItemContext } from '../../src/stage-api.ts';
import { imageError, IMAGE_EXTS, readRgb, readSize, splitRel, writeImage } from '../lib/image/io.ts';
import { loadOpenCv } from '../lib/image/opencv.ts';
import { colorsToLabels } from '../lib/image/palette.ts';
import { findInstances, type Instance } from './instances.ts';
import type { ConvertParams } from './params.ts';

/** What each mask contributes to the class balance and the COCO file. */
export interface MaskSummary {
  width: number;
  height: number;
  /** The matching image, relative to `params.images` (null without an images folder). */
  image: string | null;
  /** Pixels per class index. */
  counts: number[];
  unknown: number;
  instances: Instance[];
}

/**
 * Finds the image of a mask: same sub-folder and stem, any image extension in
 * any case (`a.png` mask -> `a.JPG` image). Several candidates are an error
 * because the pairing would be a guess.
 */
export async function findImageFor(imagesAbs: string, imagesRel: string, maskRel: string): Promise<string> {
  const { dir, stem } = splitRel(maskRel);
  const folder = path.join(imagesAbs, dir);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    throw imageError(path.posix.join(imagesRel, dir) || imagesRel, `images folder for mask ${maskRel} does not exist`, 'Check the `images` param of the convert stage.');
  }
  const hits = names.filter((n) => {
    const ext = path.extname(n);
    return path.basename(n, ext) === stem && IMAGE_EXTS.includes(ext.toLowerCase());
  });
  if (hits.length === 0) {
    throw imageError(maskRel, `no image named ${stem}.* in ${path.posix.join(imagesRel, dir)} for this mask`, 'Masks and images are paired by folder and file name without extension.');
  }
  if (hits.length > 1) {
    throw imageError(maskRel, `several images match this mask: ${hits.sort().join(', ')}`, 'Keep one image per mask name.');
  }
  return path.posix.join(dir, hits[0]!);
}

/** Converts one mask (the stage's processItem body). */
export async function convertItem(ctx: ItemContext<ConvertParams>): Promise<MaskSummary> {
  const p = ctx.params;
  const maskName = path.posix.join(p.masks, ctx.rel);
  const [cv, mask] = await Promise.all([loadOpenCv(), readRgb(ctx.input, maskName)]);
  let image: string | null = null;
  if (p.images) {
    image = await findImageFor(ctx.path(p.images), p.images, ctx.rel);
    const imageName = path.posix.join(p.images, image);
    const size = await readSize(ctx.path(path.posix.join(p.images, image)), imageName);
    if (size.width !== mask.width || size.height !== mask.height) {
      throw imageError(
        maskName,
        `mask is ${mask.width}x${mask.height} but its image ${imageName} is ${size.width}x${size.height}`,
        'A mask must have the same size as its image; re-export the mask or fix the pairing.',
      );
    }
  }
  const { labels, counts, unknown } = colorsToLabels(mask, p.palette, p.ignoreLabel, p.tolerance);
  const classes = p.coco ? p.palette.map((e, i) => (isBackground(e.name) ? -1 : i)).filter((i) => i >= 0) : [];
  const instances = p.coco ? findInstances(cv, labels, classes, p.polygonEpsilon, p.cocoSegmentation) : [];
  const { dir, stem } = splitRel(ctx.rel);
  await writeImage(path.join(ctx.outDir, dir, `${stem}.png`), labels, { format: 'png' });
  if (unknown > 0) ctx.log(`${maskName}: ${unknown} pixels of colours not in the palette -> ${p.ignoreLabel}`);
  return { width: mask.width, height: mask.height, image, counts, unknown, instances };
}

/** Classes named `background` get no COCO category and no instances. */
export function isBackground(name: string): boolean {
  return name.toLowerCase() === 'background';
}
