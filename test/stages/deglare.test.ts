import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FailureError } from '../../src/failure.ts';
import type { PerItemStage } from '../../src/stage-api.ts';
import { deglare } from '../../stages/deglare/deglare.ts';
import stage from '../../stages/deglare/index.ts';
import { deglareParams, type DeglareParams } from '../../stages/deglare/params.ts';
import { readRgb, writeImage } from '../../stages/lib/image/io.ts';
import type { RgbImage } from '../../stages/lib/image/types.ts';
import { itemCtx, openCvAndTempDir, px, setPx, solid, stageCtx } from '../fixtures/images/helpers.ts';

const env = openCvAndTempDir();

/** Smooth dark background: R = 20 + x, G = 40 + y / 2, B = 30. */
function background(w: number, h: number): RgbImage {
  const img = solid(w, h, [0, 0, 0]);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) setPx(img, x, y, [20 + x, 40 + Math.floor(y / 2), 30]);
  return img;
}

const small = (extra: Partial<DeglareParams> = {}) => deglareParams.parse({ kernel: [3, 3], iterations: 1, radius: 3, blur: 0, ...extra });

describe('deglare()', () => {
  it('removes a bright line and fills it from the neighbours, leaving far pixels untouched', () => {
    const bg = background(40, 40);
    const img = { ...bg, data: bg.data.slice() };
    for (let x = 0; x < 40; x++) {
      setPx(img, x, 20, [255, 255, 255]);
      setPx(img, x, 21, [200, 255, 200]);
    }
    const r = deglare(env.cv, img, small());
    // the mask covers the line (dilated by the 3x3 ellipse: rows 19-22)
    expect(px(r.mask, 10, 20, 1)).toEqual([255]);
    expect(px(r.mask, 10, 22, 1)).toEqual([255]);
    expect(px(r.mask, 10, 5, 1)).toEqual([0]);
    expect(r.rawFraction).toBeCloseTo(80 / 1600, 9);
    expect(r.fraction).toBeCloseTo(160 / 1600, 9);
    // line pixels now look like the background around them
    for (const x of [5, 20, 35]) {
      for (const y of [20, 21]) {
        const got = px(r.image, x, y);
        const want = px(bg, x, y);
        got.forEach((v, c) => expect(Math.abs(v - want[c]!)).toBeLessThanOrEqual(3));
      }
    }
    // outside the mask nothing changes without the blur
    expect(px(r.image, 7, 3)).toEqual(px(bg, 7, 3));
  });

  it('uses the study defaults: threshold 100 on grey, then blur', () => {
    const p = deglareParams.parse({});
    expect([p.threshold, p.kernel, p.iterations, p.inpaint, p.radius, p.blur, p.method]).toEqual([100, [15, 20], 3, 'telea', 15, 5, 'threshold']);
    const img = background(30, 30);
    setPx(img, 15, 15, [120, 120, 120]); // grey 120 > 100
    const r = deglare(env.cv, img, p);
    expect(r.threshold).toBe(100);
    expect(r.rawFraction).toBeCloseTo(1 / 900, 9);
    // the 15x20 ellipse dilated 3 times covers far more than the pixel
    expect(r.fraction).toBeGreaterThan(0.3);
    expect(px(r.mask, 15, 15, 1)).toEqual([255]);
  });

  it('"color" removes the green laser but keeps a bright white object', () => {
    const img = background(40, 40);
    for (let y = 5; y < 12; y++) for (let x = 5; x < 12; x++) setPx(img, x, y, [250, 250, 250]);
    for (let x = 0; x < 40; x++) setPx(img, x, 30, [60, 250, 90]);
    const byGrey = deglare(env.cv, img, small());
    const byColour = deglare(env.cv, img, small({ method: 'color' }));
    expect(px(byGrey.mask, 8, 8, 1)).toEqual([255]); // the grey threshold takes the white object too
    expect(px(byColour.mask, 8, 8, 1)).toEqual([0]);
    expect(px(byColour.image, 8, 8)).toEqual([250, 250, 250]);
    expect(px(byColour.mask, 20, 30, 1)).toEqual([255]);
    expect(px(byColour.image, 20, 30)[1]!).toBeLessThan(80);
    expect(byColour.threshold).toBe(-1);
  });

  it('"percentile" takes the threshold from the image', () => {
    const img = background(20, 20); // grey levels ~ 34..56
    for (let x = 0; x < 4; x++) setPx(img, x, 0, [90, 90, 90]); // 1% of pixels at 90
    const r = deglare(env.cv, img, small({ method: 'percentile', percentile: 99 }));
    expect(r.threshold).toBeLessThan(90);
    expect(r.threshold).toBeGreaterThan(40);
    expect(r.rawFraction).toBeCloseTo(4 / 400, 9); // only the bright pixels (> the 99th percentile)
    const fixed = deglare(env.cv, img, small());
    expect(fixed.rawFraction).toBe(0); // nothing above 100
  });

  it('Navier-Stokes inpainting also fills the line', () => {
    const bg = background(30, 30);
    const img = { ...bg, data: bg.data.slice() };
    for (let x = 0; x < 30; x++) setPx(img, x, 15, [255, 255, 255]);
    const r = deglare(env.cv, img, small({ inpaint: 'ns' }));
    const got = px(r.image, 12, 15);
    got.forEach((v, c) => expect(Math.abs(v - px(bg, 12, 15)[c]!)).toBeLessThanOrEqual(3));
  });

  it('"telea" (ours) and "telea-opencv" (opencv.js) give nearly the same image', () => {
    const bg = background(48, 40);
    const img = { ...bg, data: bg.data.slice() };
    for (let x = 0; x < 48; x++) setPx(img, x, 18 + (x >> 3), [120, 255, 140]);
    const ours = deglare(env.cv, img, small({ radius: 5 }));
    const theirs = deglare(env.cv, img, small({ radius: 5, inpaint: 'telea-opencv' }));
    expect(ours.mask.data).toEqual(theirs.mask.data);
    let max = 0;
    for (let i = 0; i < ours.image.data.length; i++) max = Math.max(max, Math.abs(ours.image.data[i]! - theirs.image.data[i]!));
    expect(max).toBeLessThanOrEqual(3);
    expect(px(ours.image, 20, 20)[1]!).toBeLessThan(120); // the green line is gone
  });

  it('halo removal takes away glow around the line that inpainting leaves', () => {
    const w = 80;
    const bg = solid(w, 80, [20, 40, 40]);
    const img = { ...bg, data: bg.data.slice() };
    for (let y = 0; y < 80; y++) {
      for (let x = 0; x < w; x++) {
        const d = Math.abs(y - 40);
        const glow = d <= 1 ? 215 : 50 * Math.exp(-(d * d) / (2 * 6 * 6));
        setPx(img, x, y, [20, Math.round(40 + glow), 40]);
      }
    }
    const excess = (im: RgbImage) => {
      let s = 0;
      for (let y = 30; y <= 50; y++) for (let x = 10; x < 70; x++) s += px(im, x, y)[1]! - 40;
      return s / (21 * 60);
    };
    const plain = deglare(env.cv, img, small({ threshold: 150 }));
    const dehalo = deglare(env.cv, img, small({ threshold: 150, halo: { enabled: true, width: 15, sigma: 3, strength: 1 } }));
    expect(excess(plain.image)).toBeGreaterThan(8);
    expect(excess(dehalo.image)).toBeLessThan(excess(plain.image) / 2);
    // far from the line nothing changes
    expect(px(dehalo.image, 40, 2)).toEqual([20, 40, 40]);
  });

  it('rejects an even blur size', () => {
    expect(deglareParams.safeParse({ blur: 4 }).success).toBe(false);
    expect(deglareParams.safeParse({ blur: 0 }).success).toBe(true);
    expect(deglareParams.safeParse({ nope: 1 }).success).toBe(false);
  });
});

describe('deglare stage', () => {
  const s = stage as PerItemStage<DeglareParams>;

  it('declares its folders from the params', () => {
    const io = s.io(deglareParams.parse({ images: 'in', out: 'o' }));
    expect(io).toMatchObject({ outs: ['o'], metrics: ['o/glare.json'], map: { in: 'in', out: 'o' } });
  });

  it('processItem writes the image and the glare mask; reduce writes glare.json', async () => {
    const root = path.join(env.dir, 'repo');
    const img = background(32, 24);
    for (let x = 0; x < 32; x++) setPx(img, x, 12, [255, 255, 255]);
    await writeImage(path.join(root, 'data/img/sub/A.PNG'), img, { format: 'png' });
    const params = deglareParams.parse({ images: 'data/img', out: 'work/dg', kernel: [3, 3], iterations: 1, radius: 3, format: 'jpg' });
    const outDir = path.join(env.dir, 'item');
    const res = await s.processItem(itemCtx(root, params, 'data/img', 'sub/A.PNG', outDir));
    const out = await readRgb(path.join(outDir, 'images/sub/A.jpg'));
    expect([out.width, out.height]).toEqual([32, 24]);
    expect(px(out, 16, 12)[0]!).toBeLessThan(100);
    const mask = await sharp(path.join(outDir, 'glare/sub/A.png')).metadata();
    expect(mask.channels).toBe(1);
    const summary = res.summary as { fraction: number };
    expect(summary.fraction).toBeCloseTo((32 * 3) / (32 * 24), 6);

    await s.reduce!(stageCtx(root, params), [
      { rel: 'sub/A.PNG', summary: res.summary },
      { rel: 'sub/B.png', summary: { ...(res.summary as object), fraction: 0.5 } },
    ]);
    const metrics = JSON.parse(await readFile(path.join(root, 'work/dg/glare.json'), 'utf8'));
    expect(metrics.images).toBe(2);
    expect(metrics.meanGlareFraction).toBeCloseTo((summary.fraction + 0.5) / 2, 6);
  });

  it('writes its PNGs at the zlib level of pngCompression (default 1, as imwrite), same pixels', async () => {
    expect(deglareParams.parse({}).pngCompression).toBe(1);
    expect(deglareParams.safeParse({ pngCompression: 10 }).success).toBe(false);
    const root = path.join(env.dir, 'repo3');
    const img = background(64, 48);
    for (let x = 0; x < 64; x++) setPx(img, x, 20, [255, 255, 255]);
    await writeImage(path.join(root, 'in/a.png'), img, { format: 'png' });
    const sizes: Record<number, { image: number; mask: number }> = {};
    const pixels: Uint8Array[] = [];
    for (const level of [0, 9]) {
      const params = deglareParams.parse({ images: 'in', out: 'o', kernel: [3, 3], iterations: 1, radius: 3, pngCompression: level });
      const outDir = path.join(env.dir, `item-level${level}`);
      await s.processItem(itemCtx(root, params, 'in', 'a.png', outDir));
      const image = await readFile(path.join(outDir, 'images/a.png'));
      const mask = await readFile(path.join(outDir, 'glare/a.png'));
      sizes[level] = { image: image.length, mask: mask.length };
      pixels.push((await readRgb(path.join(outDir, 'images/a.png'))).data);
    }
    // level 0 stores the pixels uncompressed (at least one byte per value); level 9 squeezes the flat mask
    expect(sizes[0]!.image).toBeGreaterThan(64 * 48 * 3);
    expect(sizes[0]!.mask).toBeGreaterThan(64 * 48);
    expect(sizes[9]!.mask).toBeLessThan(sizes[0]!.mask / 4);
    expect(sizes[9]!.image).toBeLessThan(sizes[0]!.image);
    expect(pixels[0]).toEqual(pixels[1]);
  });

  it('fails a truncated JPEG with a message naming the file', async () => {
    const root = path.join(env.dir, 'repo2');
    const bytes = await sharp(background(64, 64).data, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    await mkdir(path.join(root, 'imgs'), { recursive: true });
    await writeFile(path.join(root, 'imgs/bad.jpg'), bytes.subarray(0, bytes.length >> 1));
    const params = deglareParams.parse({ images: 'imgs', out: 'o' });
    const e = await s.processItem(itemCtx(root, params, 'imgs', 'bad.jpg', path.join(env.dir, 'item2'))).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FailureError);
    expect((e as FailureError).failure.message).toMatch(/^imgs\/bad\.jpg: cannot decode image/);
  });
});
