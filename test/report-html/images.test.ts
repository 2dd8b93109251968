/** Report images: thumbnails stay small, and the error map marks exactly the wrong pixels. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { labelPictures, thumbnail } from '../../src/report-html/images.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-report-img-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function decode(uri: string) {
  const buf = Buffer.from(uri.replace(/^data:image\/png;base64,/, ''), 'base64');
  return sharp(buf).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}

describe('thumbnail', () => {
  it('downscales large images to at most 256 px and reports unreadable files', async () => {
    const big = path.join(dir, 'big.png');
    await sharp({ create: { width: 1000, height: 500, channels: 3, background: '#336699' } }).png().toFile(big);
    const t = await thumbnail(big);
    expect('uri' in t).toBe(true);
    const { info } = await decode((t as { uri: string }).uri);
    expect([info.width, info.height]).toEqual([256, 128]);
    await writeFile(path.join(dir, 'bad.png'), 'not an image');
    const bad = await thumbnail(path.join(dir, 'bad.png'));
    expect('error' in bad && bad.error).toContain('bad.png');
  });

  it('shows a photo upright by its EXIF orientation, as the stages read it', async () => {
    // Stored 40x20, left half white; orientation 6 means "rotate 90 degrees clockwise to view".
    const stored = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) stored.fill(255, (y * 40 + x) * 3, (y * 40 + x) * 3 + 3);
    const photo = path.join(dir, 'rotated.jpg');
    await sharp(stored, { raw: { width: 40, height: 20, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(photo);
    const t = await thumbnail(photo);
    const buf = Buffer.from((t as { uri: string }).uri.replace(/^data:image\/jpeg;base64,/, ''), 'base64');
    const { data, info } = await sharp(buf).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([20, 40]);
    // After the clockwise turn the stored left half is the top half.
    expect(data[(5 * 20 + 10) * info.channels]).toBeGreaterThan(200);
    expect(data[(35 * 20 + 10) * info.channels]).toBeLessThan(50);
  });
});

describe('labelPictures', () => {
  it('colours index labels and marks wrong pixels red, ignoring label 255', async () => {
    const W = 4;
    const H = 2;
    // truth: classes 0 1 2 255 / 0 0 1 1
    const truth = Buffer.from([0, 1, 2, 255, 0, 0, 1, 1]);
    // prediction in palette colours: class 0 1 1 0 / 0 0 1 2 -> wrong at (2,0) and (3,1); (3,0) ignored
    const palette: [number, number, number][] = [
      [0, 0, 0],
      [128, 0, 0],
      [0, 128, 0],
    ];
    const predIdx = [0, 1, 1, 0, 0, 0, 1, 2];
    const pred = Buffer.concat(predIdx.map((c) => Buffer.from(palette[c]!)));
    await sharp(truth, { raw: { width: W, height: H, channels: 1 } }).png().toFile(path.join(dir, 't.png'));
    await sharp(pred, { raw: { width: W, height: H, channels: 3 } }).png().toFile(path.join(dir, 'p.png'));
    const r = await labelPictures(path.join(dir, 't.png'), path.join(dir, 'p.png'), palette);
    if ('error' in r) throw new Error(r.error);
    expect(r.errorRate).toBeCloseTo(2 / 7);
    const errs = await decode(r.errors);
    const red = (i: number) => errs.data[i * 3] === 255 && errs.data[i * 3 + 1] === 40;
    expect([0, 1, 2, 3, 4, 5, 6, 7].filter(red)).toEqual([2, 7]);
    const t = await decode(r.truth);
    expect([...t.data.subarray(3, 6)]).toEqual([128, 0, 0]); // class 1 in palette colour
    expect([...t.data.subarray(6, 9)]).toEqual([0, 128, 0]);
  });
});

describe('thumbnail of a JPEG photo', () => {
  it('stays JPEG', async () => {
    const jpg = path.join(dir, 'photo.jpg');
    await sharp({ create: { width: 300, height: 200, channels: 3, background: '#208040' } }).jpeg().toFile(jpg);
    const t = await thumbnail(jpg);
    expect('uri' in t && t.uri.startsWith('data:image/jpeg;base64,')).toBe(true);
  });
});
