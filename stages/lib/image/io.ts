/**
 * Image input and output for the per-image stages: sharp (libvips) for every
 * format it reads, our own decoder for BMP. Everything comes back as 8-bit
 * interleaved RGB whatever the source (grey, palette, 16-bit, alpha), and is
 * written to a temp name beside the target and renamed, so a crash never
 * leaves a half-written image under the final name.
 *
 * Every reader honours the EXIF Orientation tag: camera and phone photos store
 * their pixels rotated and say so in EXIF, while their masks (PNGs) are drawn
 * on the image as a viewer shows it. Reading the stored pixels as they are
 * would pair a photo with a mask turned by 90 degrees, so stages always see
 * the displayed image (and its displayed size).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { failure, FailureError, writeFileAtomic } from '../../../src/stage-api.ts';
import { BmpError, bmpSize, decodeBmp, isBmp } from './bmp.ts';
import type { GrayImage, ImageFormat, RgbImage } from './types.ts';

type Sharp = (typeof import('sharp'))['default'];
let sharpLoading: Promise<Sharp> | undefined;

/** Loads sharp once per thread (lazily, so stage modules stay cheap to import). */
export function loadSharp(): Promise<Sharp> {
  sharpLoading ??= import('sharp').then((m) => {
    const sharp = ((m as unknown as { default?: Sharp }).default ?? m) as Sharp;
    // Each file is read once: libvips' operation cache would only hold memory.
    sharp.cache(false);
    return sharp;
  });
  return sharpLoading;
}

/** A FailureError for a bad input image, naming the file and what is wrong with it. */
export function imageError(file: string, what: string, hint?: string): FailureError {
  return new FailureError(failure('stage-error', `${file}: ${what}`, { file, ...(hint ? { hint } : {}) }));
}

export const CORRUPT_HINT = 'The file is corrupt or truncated; re-export it or remove it from the input folder.';

/**
 * Reads any supported image (PNG, JPEG, TIFF, WebP, BMP, palette PNG, grey,
 * 16-bit) as 8-bit RGB, turned upright by its EXIF orientation (as displayed).
 */
export async function readRgb(abs: string, name: string = abs): Promise<RgbImage> {
  const buf = await readImageFile(abs, name);
  if (isBmp(buf)) return decodeBmpFile(buf, name);
  const sharp = await loadSharp();
  try {
    const { data, info } = await sharp(buf)
      .autoOrient()
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (e) {
    throw imageError(name, `cannot decode image (${firstLine(e)})`, CORRUPT_HINT);
  }
}

/** The bytes of an image file; an unreadable file is a failure naming it. */
export async function readImageFile(abs: string, name: string): Promise<Buffer> {
  try {
    return await readFile(abs);
  } catch (e) {
    throw imageError(name, `cannot read file (${(e as Error).message})`);
  }
}

/** Decodes BMP bytes (sharp cannot); a BMP we cannot read is a failure naming the file. */
export function decodeBmpFile(buf: Uint8Array, name: string): RgbImage {
  try {
    return decodeBmp(buf);
  } catch (e) {
    if (e instanceof BmpError) throw imageError(name, e.message, CORRUPT_HINT);
    throw e;
  }
}

/** Width and height of an image file as displayed (EXIF orientation applied), reading only its header. */
export async function readSize(abs: string, name: string = abs): Promise<{ width: number; height: number }> {
  const buf = await readImageFile(abs, name);
  try {
    if (isBmp(buf)) return bmpSize(buf);
    const sharp = await loadSharp();
    const m = await sharp(buf).metadata();
    if (!m.width || !m.height) throw new Error('no size in header');
    return orientedSize(m.width, m.height, m.orientation);
  } catch (e) {
    throw imageError(name, `cannot read image header (${firstLine(e)})`, CORRUPT_HINT);
  }
}

/**
 * The displayed size of a stored `width` x `height` image: EXIF orientations
 * 5-8 turn it by 90 degrees (transpose, rotate 90, transverse, rotate 270).
 */
export function orientedSize(width: number, height: number, orientation: number | undefined): { width: number; height: number } {
  return orientation !== undefined && orientation >= 5 && orientation <= 8 ? { width: height, height: width } : { width, height };
}

/** The first line of an error message (libvips messages run on). */
export function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}

export interface WriteOptions {
  format: ImageFormat;
  /** JPEG quality 1-100 (default 95). */
  quality?: number;
  /**
   * PNG zlib level 0-9 (default 6). Lower is faster and bigger; OpenCV's
   * imwrite uses 1, which the `deglare` stage follows for speed.
   */
  compressionLevel?: number;
}

/** Encodes RGB (3 channels) or grey (1 channel) pixels with sharp and writes them atomically. */
export async function writeImage(abs: string, img: RgbImage | GrayImage, opts: WriteOptions): Promise<void> {
  const channels = img.data.length / (img.width * img.height);
  if (channels !== 1 && channels !== 3) throw new Error(`writeImage: ${channels} channels for ${abs}`);
  const sharp = await loadSharp();
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels } });
  // Grey data stays single-channel in the file (index labels must be 8-bit grey PNGs).
  if (channels === 1) s = s.toColourspace('b-w');
  const bytes =
    opts.format === 'png'
      ? await s.png({ compressionLevel: opts.compressionLevel ?? 6, adaptiveFiltering: false }).toBuffer()
      : await s.jpeg({ quality: opts.quality ?? 95, chromaSubsampling: '4:4:4' }).toBuffer();
  await writeFileAtomic(abs, bytes);
}

/** Splits `sub/name.ext` into its folder (`sub` or '') and stem (`name`). */
export function splitRel(rel: string): { dir: string; stem: string; ext: string } {
  const dir = path.posix.dirname(rel);
  const ext = path.posix.extname(rel);
  return { dir: dir === '.' ? '' : dir, stem: path.posix.basename(rel, ext), ext };
}

/** Image file extensions the stages accept (both cases), as a picomatch glob. */
export const IMAGE_GLOB = '**/*.{png,PNG,bmp,BMP,jpg,JPG,jpeg,JPEG,tif,tiff,TIF,TIFF}';

/** The same extensions, lower-case, with dots. */
export const IMAGE_EXTS = ['.png', '.bmp', '.jpg', '.jpeg', '.tif', '.tiff'];
