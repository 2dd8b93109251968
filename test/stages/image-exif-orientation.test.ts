/**
 * EXIF orientation: photos whose pixels are stored rotated (orientation 2-8)
 * are read as a viewer shows them, by readRgb and readSize alike, so a photo
 * and its mask (a PNG without EXIF, drawn on the displayed photo) agree.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PerItemStage } from '../../src/stage-api.ts';
import stage from '../../stages/convert/index.ts';
import { convertParams, type ConvertParams } from '../../stages/convert/params.ts';
import { readRgb, readSize, writeImage } from '../../stages/lib/image/io.ts';
import type { RgbImage } from '../../stages/lib/image/types.ts';
import { itemCtx, px, setPx, solid, tempDir } from '../fixtures/images/helpers.ts';

let dir = '';
let done = async () => {};
beforeAll(async () => {
  ({ dir, done } = await tempDir());
});
afterAll(() => done());

const BLOCK = 16;
/** Stored pattern: 4 x 2 blocks of 16 px, every block a different colour (no symmetry maps it onto itself). */
const COLOURS: [number, number, number][] = [
  [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0],
  [255, 0, 255], [0, 255, 255], [255, 255, 255], [0, 0, 0],
];
const BW = 4;
const BH = 2;

function stored(): RgbImage {
  const img = solid(BW * BLOCK, BH * BLOCK, [0, 0, 0]);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) setPx(img, x, y, COLOURS[Math.floor(y / BLOCK) * BW + Math.floor(x / BLOCK)]!);
  }
  return img;
}

/**
 * The stored block shown at displayed block (x, y) for each EXIF orientation
 * (the EXIF 2.32 definitions, written out independently of sharp): W, H are
 * the stored size in blocks.
 */
function storedBlockAt(o: number, x: number, y: number, W: number, H: number): [number, number] {
  switch (o) {
    case 1: return [x, y];
    case 2: return [W - 1 - x, y]; // mirrored left-right
    case 3: return [W - 1 - x, H - 1 - y]; // rotated 180
    case 4: return [x, H - 1 - y]; // mirrored top-bottom
    case 5: return [y, x]; // transposed
    case 6: return [y, H - 1 - x]; // stored turned 90 ccw: display turns it 90 cw
    case 7: return [W - 1 - y, H - 1 - x]; // transverse
    case 8: return [W - 1 - y, x]; // display turns it 90 ccw
    default: throw new Error(`orientation ${o}`);
  }
}

function near(a: number[], b: number[]): boolean {
  return a.every((v, i) => Math.abs(v - b[i]!) <= 8);
}

async function exifJpeg(file: string, img: RgbImage, orientation: number): Promise<void> {
  await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
    .withMetadata({ orientation })
    .toFile(file);
}

describe('EXIF orientation', () => {
  it('readRgb and readSize show every orientation (1-8) of a JPEG as displayed', async () => {
    const img = stored();
    for (let o = 1; o <= 8; o++) {
      const file = path.join(dir, `o${o}.jpg`);
      await exifJpeg(file, img, o);
      // the tag really is in the file, and the stored pixels are the unrotated pattern
      const meta = await sharp(file).metadata();
      expect([meta.orientation, meta.width, meta.height]).toEqual([o, img.width, img.height]);

      const turned = o >= 5;
      const [dw, dh] = turned ? [BH, BW] : [BW, BH];
      expect(await readSize(file)).toEqual({ width: dw * BLOCK, height: dh * BLOCK });
      const r = await readRgb(file);
      expect([o, r.width, r.height]).toEqual([o, dw * BLOCK, dh * BLOCK]);
      for (let by = 0; by < dh; by++) {
        for (let bx = 0; bx < dw; bx++) {
          const [sx, sy] = storedBlockAt(o, bx, by, BW, BH);
          const want = COLOURS[sy * BW + sx]!;
          const got = px(r, bx * BLOCK + BLOCK / 2, by * BLOCK + BLOCK / 2);
          expect(near(got, want), `orientation ${o}, displayed block (${bx},${by}): got ${got}, want ${want}`).toBe(true);
        }
      }
    }
  });

  it('turns lossless TIFFs and PNGs tagged with an orientation pixel-exactly', async () => {
    const img = stored();
    const raw = { raw: { width: img.width, height: img.height, channels: 3 as const } };
    await sharp(img.data, raw).tiff({ compression: 'lzw' }).withMetadata({ orientation: 6 }).toFile(path.join(dir, 'r6.tif'));
    await sharp(img.data, raw).png().withMetadata({ orientation: 8 }).toFile(path.join(dir, 'r8.png'));
    for (const [name, o] of [['r6.tif', 6], ['r8.png', 8]] as const) {
      const file = path.join(dir, name);
      expect((await sharp(file).metadata()).orientation).toBe(o);
      const r = await readRgb(file);
      expect([r.width, r.height]).toEqual([img.height, img.width]);
      expect(await readSize(file)).toEqual({ width: img.height, height: img.width });
      // every pixel, not just block centres: displayed (x, y) = stored (y, H-1-x) for 6, (W-1-y, x) for 8
      for (let y = 0; y < r.height; y++) {
        for (let x = 0; x < r.width; x++) {
          const [sx, sy] = o === 6 ? [y, img.height - 1 - x] : [img.width - 1 - y, x];
          expect(px(r, x, y)).toEqual(px(img, sx, sy));
        }
      }
    }
  });

  it('convert pairs a rotated-EXIF JPEG photo with a PNG mask of its displayed size, and refuses one of its stored size', async () => {
    const root = path.join(dir, 'repo');
    await mkdir(path.join(root, 'images'), { recursive: true });
    // stored 32 wide x 16 high, shown 16 wide x 32 high (orientation 6: a phone held upright)
    await exifJpeg(path.join(root, 'images/phone.JPG'), solid(32, 16, [90, 120, 60]), 6);
    await exifJpeg(path.join(root, 'images/wrong.jpg'), solid(32, 16, [90, 120, 60]), 6);
    const mask = solid(16, 32, [0, 0, 0]);
    for (let y = 20; y < 30; y++) for (let x = 2; x < 6; x++) setPx(mask, x, y, [128, 0, 0]);
    await writeImage(path.join(root, 'masks/phone.png'), mask, { format: 'png' });
    await writeImage(path.join(root, 'masks/wrong.png'), solid(32, 16, [0, 0, 0]), { format: 'png' });
    const s = stage as PerItemStage<ConvertParams>;
    const params = convertParams.parse({ masks: 'masks', out: 'labels', images: 'images', polygonEpsilon: 0 });

    const res = await s.processItem(itemCtx(root, params, 'masks', 'phone.png', path.join(dir, 'out-phone')));
    expect(res.summary).toMatchObject({ width: 16, height: 32, image: 'phone.JPG', instances: [{ category: 1, bbox: [2, 20, 4, 10], area: 40 }] });

    await expect(s.processItem(itemCtx(root, params, 'masks', 'wrong.png', path.join(dir, 'out-wrong')))).rejects.toThrow(
      /masks\/wrong\.png: mask is 32x16 but its image images\/wrong\.jpg is 16x32/,
    );
  });
});
