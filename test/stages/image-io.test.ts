import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/failure.ts';
import { decodeBmp, encodeBmp24 } from '../../stages/lib/image/bmp.ts';
import { readRgb, readSize, writeImage } from '../../stages/lib/image/io.ts';
import { px, solid, setPx, tempDir } from '../fixtures/images/helpers.ts';

let dir = '';
let done = async () => {};
beforeAll(async () => {
  ({ dir, done } = await tempDir());
});
afterAll(() => done());

/** A 3x2 test pattern with distinct colours. */
function pattern() {
  const img = solid(3, 2, [0, 0, 0]);
  setPx(img, 0, 0, [255, 0, 0]);
  setPx(img, 1, 0, [0, 128, 0]);
  setPx(img, 2, 0, [0, 0, 255]);
  setPx(img, 0, 1, [10, 20, 30]);
  setPx(img, 1, 1, [200, 100, 50]);
  setPx(img, 2, 1, [128, 0, 0]);
  return img;
}

/** Hand-built BMP: header + rows as given (already padded, in file order). */
function bmp(width: number, height: number, bpp: number, rows: number[][], palette: number[][] = [], compression = 0, masks: number[] = []): Buffer {
  const pal = palette.flatMap(([r, g, b]) => [b!, g!, r!, 0]);
  const maskBytes = masks.flatMap((m) => [m & 0xff, (m >>> 8) & 0xff, (m >>> 16) & 0xff, (m >>> 24) & 0xff]);
  const offset = 54 + maskBytes.length + pal.length;
  const pixels = rows.flat();
  const buf = Buffer.alloc(offset + pixels.length);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(offset, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(bpp, 28);
  buf.writeUInt32LE(compression, 30);
  buf.writeUInt32LE(palette.length, 46);
  Buffer.from([...maskBytes, ...pal, ...pixels]).copy(buf, 54);
  return buf;
}

describe('readRgb', () => {
  it('reads PNG, JPEG and TIFF (upper-case extensions too) as 8-bit RGB', async () => {
    const img = pattern();
    const raw = { raw: { width: 3, height: 2, channels: 3 as const } };
    await sharp(img.data, raw).png().toFile(path.join(dir, 'a.PNG'));
    await sharp(img.data, raw).tiff({ compression: 'lzw' }).toFile(path.join(dir, 'a.TIF'));
    await sharp(img.data, raw).jpeg({ quality: 100 }).toFile(path.join(dir, 'a.JPG'));
    for (const name of ['a.PNG', 'a.TIF']) {
      const r = await readRgb(path.join(dir, name));
      expect([r.width, r.height]).toEqual([3, 2]);
      expect(Array.from(r.data)).toEqual(Array.from(img.data));
    }
    const j = await readRgb(path.join(dir, 'a.JPG'));
    expect(j.data.length).toBe(18);
  });

  it('expands palette PNGs, grey PNGs and drops alpha', async () => {
    const img = pattern();
    const raw = { raw: { width: 3, height: 2, channels: 3 as const } };
    await sharp(img.data, raw).png({ palette: true, colours: 8, dither: 0 }).toFile(path.join(dir, 'pal.png'));
    expect((await sharp(path.join(dir, 'pal.png')).metadata()).isPalette).toBe(true);
    expect(Array.from((await readRgb(path.join(dir, 'pal.png'))).data)).toEqual(Array.from(img.data));

    await sharp(Buffer.from([0, 50, 255, 7]), { raw: { width: 2, height: 2, channels: 1 } }).png().toFile(path.join(dir, 'grey.png'));
    const g = await readRgb(path.join(dir, 'grey.png'));
    expect(px(g, 1, 0)).toEqual([50, 50, 50]);
    expect(px(g, 1, 1)).toEqual([7, 7, 7]);

    await sharp(Buffer.from([1, 2, 3, 0, 4, 5, 6, 255]), { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(path.join(dir, 'rgba.png'));
    const a = await readRgb(path.join(dir, 'rgba.png'));
    expect(a.data.length).toBe(6);
    expect(px(a, 1, 0)).toEqual([4, 5, 6]);
  });

  it('reads 24-bit BMPs (bottom-up, padded rows) written by our encoder and by hand', async () => {
    const img = pattern();
    await writeFile(path.join(dir, 'p.BMP'), encodeBmp24(img));
    expect(Array.from((await readRgb(path.join(dir, 'p.BMP'))).data)).toEqual(Array.from(img.data));
    // 1x2 bottom-up: first stored row is the bottom one; each row padded to 4 bytes
    const b = bmp(1, 2, 24, [[3, 2, 1, 0], [30, 20, 10, 0]]);
    expect(Array.from(decodeBmp(b).data)).toEqual([10, 20, 30, 1, 2, 3]);
  });

  it('reads top-down 32-bit, BI_BITFIELDS and 8-bit / 1-bit paletted BMPs', () => {
    const top = bmp(1, -2, 32, [[3, 2, 1, 0], [30, 20, 10, 0]]);
    expect(Array.from(decodeBmp(top).data)).toEqual([1, 2, 3, 10, 20, 30]);
    // bit fields: R in the top byte, G, B below (RGBX order in little-endian ints)
    const bf = bmp(1, 1, 32, [[0, 30, 20, 10]], [], 3, [0xff000000, 0x00ff0000, 0x0000ff00]);
    expect(Array.from(decodeBmp(bf).data)).toEqual([10, 20, 30]);
    const p8 = bmp(3, 1, 8, [[2, 0, 1, 0]], [[0, 0, 0], [128, 0, 0], [0, 128, 0]]);
    expect(Array.from(decodeBmp(p8).data)).toEqual([0, 128, 0, 0, 0, 0, 128, 0, 0]);
    const p1 = bmp(3, 1, 1, [[0b10100000, 0, 0, 0]], [[0, 0, 0], [255, 255, 255]]);
    expect(Array.from(decodeBmp(p1).data)).toEqual([255, 255, 255, 0, 0, 0, 255, 255, 255]);
  });

  it('refuses RLE BMPs and truncated files with a message naming the file', async () => {
    await writeFile(path.join(dir, 'rle.bmp'), bmp(1, 1, 8, [[0, 0, 0, 0]], [[0, 0, 0]], 1));
    await expect(readRgb(path.join(dir, 'rle.bmp'), 'masks/rle.bmp')).rejects.toThrow(/masks\/rle\.bmp: unsupported BMP compression/);
    const full = encodeBmp24(solid(8, 8, [1, 2, 3]));
    await writeFile(path.join(dir, 'cut.bmp'), full.subarray(0, 100));
    await expect(readRgb(path.join(dir, 'cut.bmp'))).rejects.toThrow(/cut\.bmp: truncated BMP/);
  });

  it('fails a truncated JPEG or PNG with a FailureError naming the file', async () => {
    const img = solid(64, 64, [100, 120, 140]);
    for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 37) % 251;
    const raw = { raw: { width: 64, height: 64, channels: 3 as const } };
    for (const fmt of ['jpg', 'png'] as const) {
      const bytes = fmt === 'jpg' ? await sharp(img.data, raw).jpeg().toBuffer() : await sharp(img.data, raw).png().toBuffer();
      const file = path.join(dir, `trunc.${fmt}`);
      await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
      const e = await readRgb(file, `data/trunc.${fmt}`).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(FailureError);
      const f = (e as FailureError).failure;
      expect(f.kind).toBe('stage-error');
      expect(f.file).toBe(`data/trunc.${fmt}`);
      expect(f.message).toMatch(new RegExp(`^data/trunc\\.${fmt}: cannot decode image`));
      expect(f.hint).toMatch(/corrupt or truncated/);
    }
  });

  it('reads sizes from headers, BMP included', async () => {
    await writeFile(path.join(dir, 's.bmp'), encodeBmp24(solid(5, 3, [0, 0, 0])));
    expect(await readSize(path.join(dir, 's.bmp'))).toEqual({ width: 5, height: 3 });
    await sharp(Buffer.alloc(7 * 2 * 3), { raw: { width: 7, height: 2, channels: 3 } }).jpeg().toFile(path.join(dir, 's.jpeg'));
    expect(await readSize(path.join(dir, 's.jpeg'))).toEqual({ width: 7, height: 2 });
  });
});

describe('writeImage', () => {
  it('writes grey images as 1-channel 8-bit PNGs and RGB as PNG/JPEG, leaving no temp files', async () => {
    const sub = path.join(dir, 'out', 'deep');
    await writeImage(path.join(sub, 'l.png'), { data: Uint8Array.from([0, 1, 2, 255]), width: 2, height: 2 }, { format: 'png' });
    const m = await sharp(path.join(sub, 'l.png')).metadata();
    expect([m.channels, m.depth, m.format]).toEqual([1, 'uchar', 'png']);
    const { data } = await sharp(path.join(sub, 'l.png')).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect(Array.from(data)).toEqual([0, 1, 2, 255]);
    await writeImage(path.join(sub, 'c.jpg'), solid(4, 4, [10, 200, 30]), { format: 'jpg' });
    expect((await readFile(path.join(sub, 'c.jpg')).then((b) => b.subarray(0, 2))).toString('hex')).toBe('ffd8');
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(sub)).sort()).toEqual(['c.jpg', 'l.png']);
    await mkdir(sub, { recursive: true });
  });
});
