/**
 * A small BMP decoder, because sharp (libvips) cannot read BMP and masks from
 * Windows annotation tools often are BMP. Handles uncompressed (BI_RGB) 1/4/8-bit
 * paletted, 24-bit and 32-bit images, 32-bit BI_BITFIELDS with byte-aligned
 * masks, bottom-up and top-down rows. RLE and 16-bit BMPs are refused with a
 * message saying so.
 */
import type { RgbImage } from './types.ts';

/** Thrown for a BMP this decoder cannot read; the caller adds the file name. */
export class BmpError extends Error {}

/** True when the bytes start with the BMP signature `BM`. */
export function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d;
}

/** Width and height from the header, without decoding the pixels. */
export function bmpSize(buf: Uint8Array): { width: number; height: number } {
  const h = parseHeader(buf);
  return { width: h.width, height: h.height };
}

interface Header {
  dataOffset: number;
  headerSize: number;
  width: number;
  height: number;
  topDown: boolean;
  bpp: number;
  compression: number;
  colorsUsed: number;
  masks?: [number, number, number];
}

function parseHeader(buf: Uint8Array): Header {
  if (!isBmp(buf) || buf.length < 26) throw new BmpError('not a BMP file (no "BM" header)');
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dataOffset = v.getUint32(10, true);
  const headerSize = v.getUint32(14, true);
  if (headerSize === 12) {
    // OS/2 BITMAPCOREHEADER: 16-bit sizes, 3-byte palette entries (handled below).
    return { dataOffset, headerSize, width: v.getUint16(18, true), height: v.getUint16(20, true), topDown: false, bpp: v.getUint16(24, true), compression: 0, colorsUsed: 0 };
  }
  if (headerSize < 40 || buf.length < 14 + 40) throw new BmpError(`unsupported BMP header size ${headerSize}`);
  const width = v.getInt32(18, true);
  const rawHeight = v.getInt32(22, true);
  const bpp = v.getUint16(28, true);
  const compression = v.getUint32(30, true);
  const colorsUsed = v.getUint32(46, true);
  let masks: [number, number, number] | undefined;
  if (compression === 3) {
    // BI_BITFIELDS: masks follow a 40-byte header, or sit inside a V4/V5 header.
    if (buf.length < 14 + 40 + 12) throw new BmpError('truncated BMP bit-field masks');
    masks = [v.getUint32(54, true), v.getUint32(58, true), v.getUint32(62, true)];
  }
  if (width <= 0 || rawHeight === 0) throw new BmpError(`bad BMP size ${width}x${rawHeight}`);
  return { dataOffset, headerSize, width, height: Math.abs(rawHeight), topDown: rawHeight < 0, bpp, compression, colorsUsed, masks };
}

function maskShift(mask: number): number {
  for (const s of [0, 8, 16, 24]) if (mask >>> 0 === (0xff << s) >>> 0) return s;
  throw new BmpError(`unsupported BMP bit-field mask 0x${(mask >>> 0).toString(16)} (only byte-aligned 8-bit masks)`);
}

/** Decodes a BMP into interleaved 8-bit RGB. */
export function decodeBmp(buf: Uint8Array): RgbImage {
  const h = parseHeader(buf);
  const { width, height, bpp } = h;
  if (h.compression !== 0 && !(h.compression === 3 && bpp === 32)) {
    throw new BmpError(`unsupported BMP compression ${h.compression} (only uncompressed BMPs are read; re-save as PNG)`);
  }
  if (![1, 4, 8, 24, 32].includes(bpp)) throw new BmpError(`unsupported BMP bit depth ${bpp} (1, 4, 8, 24 and 32 are read)`);
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (h.dataOffset + stride * height > buf.length) {
    throw new BmpError(`truncated BMP: needs ${h.dataOffset + stride * height} bytes, file has ${buf.length}`);
  }
  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const entry = h.headerSize === 12 ? 3 : 4;
    const count = h.colorsUsed || 1 << bpp;
    const start = 14 + h.headerSize + (h.compression === 3 ? 12 : 0);
    if (start + count * entry > buf.length) throw new BmpError('truncated BMP palette');
    palette = new Uint8Array(count * 3);
    for (let i = 0; i < count; i++) {
      // Palette entries are stored B, G, R(, reserved).
      palette[i * 3] = buf[start + i * entry + 2]!;
      palette[i * 3 + 1] = buf[start + i * entry + 1]!;
      palette[i * 3 + 2] = buf[start + i * entry]!;
    }
  }
  const shifts = h.masks ? h.masks.map(maskShift) : [16, 8, 0];
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = h.dataOffset + stride * (h.topDown ? y : height - 1 - y);
    let o = y * width * 3;
    if (bpp === 24 || bpp === 32) {
      const step = bpp / 8;
      for (let x = 0; x < width; x++, o += 3) {
        const p = row + x * step;
        if (bpp === 24) {
          out[o] = buf[p + 2]!;
          out[o + 1] = buf[p + 1]!;
          out[o + 2] = buf[p]!;
        } else {
          const px = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
          out[o] = (px >>> shifts[0]!) & 0xff;
          out[o + 1] = (px >>> shifts[1]!) & 0xff;
          out[o + 2] = (px >>> shifts[2]!) & 0xff;
        }
      }
    } else {
      const perByte = 8 / bpp;
      const bits = (1 << bpp) - 1;
      for (let x = 0; x < width; x++, o += 3) {
        const byte = buf[row + Math.floor(x / perByte)]!;
        const idx = (byte >> (8 - bpp * ((x % perByte) + 1))) & bits;
        if (idx * 3 + 2 >= palette!.length) throw new BmpError(`BMP pixel uses palette index ${idx} beyond its ${palette!.length / 3} colours`);
        out[o] = palette![idx * 3]!;
        out[o + 1] = palette![idx * 3 + 1]!;
        out[o + 2] = palette![idx * 3 + 2]!;
      }
    }
  }
  return { data: out, width, height };
}

/** Encodes 8-bit RGB as a 24-bit bottom-up BMP (for tests and fixtures). */
export function encodeBmp24(img: RgbImage): Uint8Array {
  const stride = Math.ceil((img.width * 3) / 4) * 4;
  const size = 54 + stride * img.height;
  const buf = new Uint8Array(size);
  const v = new DataView(buf.buffer);
  buf[0] = 0x42;
  buf[1] = 0x4d;
  v.setUint32(2, size, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, img.width, true);
  v.setInt32(22, img.height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  v.setUint32(34, stride * img.height, true);
  for (let y = 0; y < img.height; y++) {
    const row = 54 + stride * (img.height - 1 - y);
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 3;
      buf[row + x * 3] = img.data[i + 2]!;
      buf[row + x * 3 + 1] = img.data[i + 1]!;
      buf[row + x * 3 + 2] = img.data[i]!;
    }
  }
  return buf;
}
