/**
 * Reading masks and label images, where a pixel's value is a class and must
 * come through exactly: unlike photos (io.ts `readRgb`), a mask keeps the
 * difference between grey and colour files, 16-bit index values are not
 * scaled to nothing, and fully transparent pixels are a class, not whatever
 * RGB the tool happened to store under them.
 */
import { isBmp } from './bmp.ts';
import { CORRUPT_HINT, decodeBmpFile, firstLine, imageError, loadSharp, readImageFile } from './io.ts';
import type { Rgb } from './palette.ts';
import type { RgbImage } from './types.ts';

export interface MaskPixels {
  width: number;
  height: number;
  /** 1: the file stores grey values (one per pixel); 3: RGB (colour, palette or BMP files). */
  channels: 1 | 3;
  data: Uint8Array;
  /** A 16-bit file whose values went above 255, scaled to 8 bits (0/65535 masks become 0/255). */
  scaled16: boolean;
  /** Pixels with alpha 0, given the `transparent` colour. */
  transparent: number;
}

/**
 * Reads a mask or label image (PNG, palette PNG, BMP, JPEG, TIFF; grey or
 * colour; 8 or 16 bits; with or without alpha), turned upright by its EXIF
 * orientation like the photos it belongs to. Fully transparent pixels become
 * `transparent` (default black, i.e. grey 0); partly transparent pixels keep
 * their stored colour (anti-aliased strokes of a class colour). 16-bit files
 * whose values all fit in 8 bits are taken as they are (16-bit index labels);
 * others are scaled by 1/257.
 */
export async function readMask(abs: string, name: string = abs, transparent: Rgb = [0, 0, 0]): Promise<MaskPixels> {
  const buf = await readImageFile(abs, name);
  if (isBmp(buf)) return { ...decodeBmpFile(buf, name), channels: 3, scaled16: false, transparent: 0 };
  const sharp = await loadSharp();
  try {
    const meta = await sharp(buf).metadata();
    const grey = (meta.space === 'b-w' || meta.space === 'grey16') && !meta.isPalette;
    const wide = meta.depth === 'ushort';
    const space = grey ? (wide ? 'grey16' : 'b-w') : wide ? 'rgb16' : 'srgb';
    const { data, info } = await sharp(buf)
      .autoOrient()
      .toColourspace(space)
      .raw({ depth: wide ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const colour = grey ? 1 : 3;
    const stride = info.channels;
    if (stride !== colour && stride !== colour + 1) throw new Error(`decoded to ${stride} channels, expected ${colour} or ${colour + 1}`);
    const n = info.width * info.height;
    const src: ArrayLike<number> = wide ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) : data;
    let shift = 0;
    if (wide) {
      for (let i = 0; i < src.length; i++) {
        if (i % stride < colour && src[i]! > 255) {
          shift = 8;
          break;
        }
      }
    }
    const out = new Uint8Array(n * colour);
    let clear = 0;
    for (let i = 0; i < n; i++) {
      const s = i * stride;
      if (stride > colour && src[s + colour] === 0) {
        clear++;
        if (colour === 1) out[i] = transparent[0];
        else out.set(transparent, i * 3);
        continue;
      }
      for (let c = 0; c < colour; c++) out[i * colour + c] = src[s + c]! >> shift;
    }
    return { width: info.width, height: info.height, channels: colour, data: out, scaled16: shift > 0, transparent: clear };
  } catch (e) {
    throw imageError(name, `cannot decode image (${firstLine(e)})`, CORRUPT_HINT);
  }
}

/** A mask as RGB (grey values repeated in the three channels). */
export function maskToRgb(m: MaskPixels): RgbImage {
  if (m.channels === 3) return { data: m.data, width: m.width, height: m.height };
  const out = new Uint8Array(m.width * m.height * 3);
  for (let i = 0; i < m.data.length; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = m.data[i]!;
  return { data: out, width: m.width, height: m.height };
}
