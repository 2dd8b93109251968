import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FailureError } from '../../src/failure.ts';
import type { Json, PerItemStage } from '../../src/stage-api.ts';
import stage from '../../stages/convert/index.ts';
import { findInstances } from '../../stages/convert/instances.ts';
import { convertPalette, convertParams, type ConvertParams } from '../../stages/convert/params.ts';
import { encodeBmp24 } from '../../stages/lib/image/bmp.ts';
import { writeImage } from '../../stages/lib/image/io.ts';
import { colorsToLabels, STUDY_PALETTE } from '../../stages/lib/image/palette.ts';
import type { RgbImage } from '../../stages/lib/image/types.ts';
import { itemCtx, openCvAndTempDir, setPx, solid, stageCtx } from '../fixtures/images/helpers.ts';

const env = openCvAndTempDir();

const VALVE: [number, number, number] = [128, 0, 0];
const PIPE: [number, number, number] = [0, 128, 0];

/** 20x10 mask: two valve squares (3x3 at (1,1), 2x2 at (6,1)), a pipe bar (rows 6-7, x 2-17), one odd pixel. */
function mask(): RgbImage {
  const m = solid(20, 10, [0, 0, 0]);
  for (let y = 1; y < 4; y++) for (let x = 1; x < 4; x++) setPx(m, x, y, VALVE);
  for (let y = 1; y < 3; y++) for (let x = 6; x < 8; x++) setPx(m, x, y, VALVE);
  for (let y = 6; y < 8; y++) for (let x = 2; x < 18; x++) setPx(m, x, y, PIPE);
  setPx(m, 15, 2, [255, 255, 0]);
  return m;
}

async function readLabels(file: string): Promise<{ data: number[] }> {
  const data = await sharp(file).toColourspace('b-w').raw().toBuffer();
  return { data: Array.from(data) };
}

describe('colorsToLabels', () => {
  it('maps palette colours to indices and anything else to the ignore label', () => {
    const r = colorsToLabels(mask(), STUDY_PALETTE, 255, 0);
    expect(r.counts).toEqual([200 - 9 - 4 - 32 - 1, 13, 32]);
    expect(r.unknown).toBe(1);
    expect(r.labels.data[2 * 20 + 15]).toBe(255);
    expect(r.labels.data[1 * 20 + 1]).toBe(1);
    expect(r.labels.data[6 * 20 + 2]).toBe(2);
  });

  it('snaps lossy colours to the nearest palette colour within the tolerance only', () => {
    const m = solid(3, 1, [0, 0, 0]);
    setPx(m, 0, 0, [124, 3, 2]); // 4 off valve
    setPx(m, 1, 0, [60, 60, 0]); // far from everything
    setPx(m, 2, 0, [2, 131, 1]); // 3 off pipe
    expect(Array.from(colorsToLabels(m, STUDY_PALETTE, 255, 0).labels.data)).toEqual([255, 255, 255]);
    expect(Array.from(colorsToLabels(m, STUDY_PALETTE, 255, 5).labels.data)).toEqual([1, 255, 2]);
  });

  it('handles any number of classes', () => {
    const palette = Array.from({ length: 10 }, (_, i) => ({ name: `c${i}`, color: [i * 20, 0, 255 - i * 20] as [number, number, number] }));
    const m = solid(10, 1, [0, 0, 0]);
    for (let i = 0; i < 10; i++) setPx(m, i, 0, palette[i]!.color);
    expect(Array.from(colorsToLabels(m, palette, 255, 0).labels.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('findInstances', () => {
  it('gives one instance per connected component with bbox, area and a polygon', () => {
    const { labels } = colorsToLabels(mask(), STUDY_PALETTE, 255, 0);
    const inst = findInstances(env.cv, labels, [1, 2], 0);
    expect(inst.map((i) => [i.category, i.bbox, i.area])).toEqual([
      [1, [1, 1, 3, 3], 9],
      [1, [6, 1, 2, 2], 4],
      [2, [2, 6, 16, 2], 32],
    ]);
    for (const i of inst) {
      // solid instances (no holes) stay polygons
      if (!Array.isArray(i.segmentation)) throw new Error(`expected a polygon for ${JSON.stringify(i.bbox)}`);
      expect(i.segmentation.length).toBe(1);
      const poly = i.segmentation[0]!;
      expect(poly.length).toBeGreaterThanOrEqual(6);
      const xs = poly.filter((_, k) => k % 2 === 0);
      const ys = poly.filter((_, k) => k % 2 === 1);
      expect(Math.min(...xs)).toBe(i.bbox[0]);
      expect(Math.max(...xs)).toBe(i.bbox[0] + i.bbox[2] - 1);
      expect(Math.min(...ys)).toBe(i.bbox[1]);
    }
  });

  it('uses the bounding box as polygon for a single pixel', () => {
    const labels = { data: new Uint8Array(25), width: 5, height: 5 };
    labels.data[12] = 1;
    const [one] = findInstances(env.cv, labels, [1], 0);
    expect(one).toEqual({ category: 1, bbox: [2, 2, 1, 1], area: 1, segmentation: [[2, 2, 2, 2, 2, 2, 2, 2]] });
  });
});

describe('convert stage', () => {
  const s = stage as PerItemStage<ConvertParams>;

  it('validates params: palette, ignore label', () => {
    expect(convertPalette(convertParams.parse({}))).toEqual(STUDY_PALETTE);
    expect(convertPalette(convertParams.parse({ binary: true })).map((e) => e.name)).toEqual(['background', 'foreground']);
    expect(convertParams.safeParse({ binary: true, palette: STUDY_PALETTE }).success).toBe(false);
    expect(convertParams.safeParse({ ignoreLabel: 1 }).success).toBe(false);
    expect(convertParams.safeParse({ palette: [{ name: 'a', color: [0, 0, 0] }, { name: 'a', color: [1, 1, 1] }] }).success).toBe(false);
    expect(s.io(convertParams.parse({ masks: 'm', out: 'o', images: 'i' }))).toMatchObject({ deps: ['i'], outs: ['o'], metrics: ['o/classes.json'], map: { in: 'm', out: 'o' } });
  });

  it('converts BMP, palette PNG and JPEG masks paired with images by stem; reduce writes classes.json and coco.json', async () => {
    const root = path.join(env.dir, 'repo');
    const m = mask();
    const img = solid(20, 10, [30, 60, 90]);
    // a BMP mask whose image is an upper-case JPG; a palette PNG in a sub-folder; a JPEG mask
    await writeImage(path.join(root, 'images/a.JPG'), img, { format: 'jpg' });
    await writeImage(path.join(root, 'images/sub/b.png'), img, { format: 'png' });
    await writeImage(path.join(root, 'images/c.png'), img, { format: 'png' });
    await import('node:fs/promises').then((fs) => fs.mkdir(path.join(root, 'masks/sub'), { recursive: true }));
    await writeFile(path.join(root, 'masks/a.bmp'), encodeBmp24(m));
    await sharp(m.data, { raw: { width: 20, height: 10, channels: 3 } }).png({ palette: true, colours: 4, dither: 0 }).toFile(path.join(root, 'masks/sub/b.png'));
    await sharp(m.data, { raw: { width: 20, height: 10, channels: 3 } }).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toFile(path.join(root, 'masks/c.jpeg'));
    const params = convertParams.parse({ masks: 'masks', out: 'labels', images: 'images', tolerance: 40, polygonEpsilon: 0 });
    const rels = ['a.bmp', 'c.jpeg', 'sub/b.png'];
    const items: { rel: string; summary: Json | undefined }[] = [];
    const logs: string[] = [];
    for (const rel of rels) {
      const outDir = path.join(env.dir, 'items', rel);
      const res = await s.processItem(itemCtx(root, params, 'masks', rel, outDir, logs));
      items.push({ rel, summary: res.summary });
      const out = path.join(outDir, rel.replace(/\.[a-z]+$/, '.png'));
      const meta = await sharp(out).metadata();
      expect([meta.channels, meta.depth, meta.width, meta.height]).toEqual([1, 'uchar', 20, 10]);
      const labels = await readLabels(out);
      expect(labels.data[2 * 20 + 2]).toBe(1);
      expect(labels.data[6 * 20 + 10]).toBe(2);
      expect(labels.data[9 * 20 + 19]).toBe(0);
    }
    // the yellow pixel is unknown in the lossless masks
    expect((items[0]!.summary as { unknown: number }).unknown).toBe(1);
    expect(logs.some((l) => l.startsWith('masks/a.bmp: 1 pixels'))).toBe(true);
    expect((items[0]!.summary as { image: string }).image).toBe('a.JPG');

    await s.reduce!(stageCtx(root, params), items);
    const classes = JSON.parse(await readFile(path.join(root, 'labels/classes.json'), 'utf8'));
    expect(classes.files).toBe(3);
    expect(classes.pixels).toBe(600);
    expect(classes.classes[1]).toMatchObject({ name: 'valve', color: [128, 0, 0] });
    expect(classes.classes[1].pixels).toBeGreaterThanOrEqual(3 * 13 - 2);
    expect(classes.unknownByFile['a.bmp']).toBe(1);
    expect(classes.unknownPixels).toBe(Object.values(classes.unknownByFile as Record<string, number>).reduce((a, b) => a + b, 0));

    const coco = JSON.parse(await readFile(path.join(root, 'labels/coco.json'), 'utf8'));
    expect(coco.categories).toEqual([
      { id: 1, name: 'valve', supercategory: 'object' },
      { id: 2, name: 'pipe', supercategory: 'object' },
    ]);
    expect(coco.images.map((i: { file_name: string; id: number }) => [i.id, i.file_name])).toEqual([
      [1, 'a.JPG'],
      [2, 'c.png'],
      [3, 'sub/b.png'],
    ]);
    const first = coco.annotations.filter((a: { image_id: number }) => a.image_id === 1);
    expect(first.map((a: { category_id: number; bbox: number[]; area: number; iscrowd: number }) => [a.category_id, a.bbox, a.area, a.iscrowd])).toEqual([
      [1, [1, 1, 3, 3], 9, 0],
      [1, [6, 1, 2, 2], 4, 0],
      [2, [2, 6, 16, 2], 32, 0],
    ]);
    expect(new Set(coco.annotations.map((a: { id: number }) => a.id)).size).toBe(coco.annotations.length);
  });

  it('fails when a mask and its image differ in size, naming both files', async () => {
    const root = path.join(env.dir, 'repo2');
    await writeImage(path.join(root, 'images/x.png'), solid(21, 10, [0, 0, 0]), { format: 'png' });
    await writeImage(path.join(root, 'masks/x.png'), mask(), { format: 'png' });
    const params = convertParams.parse({ masks: 'masks', out: 'labels', images: 'images' });
    const e = await s.processItem(itemCtx(root, params, 'masks', 'x.png', path.join(env.dir, 'i2'))).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FailureError);
    const msg = (e as FailureError).failure.message;
    expect(msg).toMatch(/masks\/x\.png/);
    expect(msg).toMatch(/images\/x\.png/);
    expect(msg).toMatch(/20x10.*21x10/);
    // a mask without an image is left out (reduce warns about it), not converted
    await writeImage(path.join(root, 'masks/y.png'), mask(), { format: 'png' });
    const skipped = await s.processItem(itemCtx(root, params, 'masks', 'y.png', path.join(env.dir, 'i3')));
    expect(skipped.summary).toEqual({ skipped: 'no-image', message: 'masks/y.png: no image named y.* in images' });
  });

  it('fails a truncated PNG mask with a message naming it', async () => {
    const root = path.join(env.dir, 'repo3');
    const bytes = await sharp(mask().data, { raw: { width: 20, height: 10, channels: 3 } }).png().toBuffer();
    await import('node:fs/promises').then((fs) => fs.mkdir(path.join(root, 'masks'), { recursive: true }));
    await writeFile(path.join(root, 'masks/t.png'), bytes.subarray(0, bytes.length - 20));
    const params = convertParams.parse({ masks: 'masks', out: 'labels' });
    await expect(s.processItem(itemCtx(root, params, 'masks', 't.png', path.join(env.dir, 'i4')))).rejects.toThrow(/^masks\/t\.png: cannot decode image/);
  });
});
