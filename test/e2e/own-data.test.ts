/**
 * The "bring your own data" example (examples/own-data/pipeline.yaml) through
 * the real runner on a set the test draws: an 8-class palette of BMP masks,
 * photos of two sizes (640x480 and 480x448; one grey JPEG, one stored turned
 * with an EXIF orientation, names with a space and a dot), a photo without a
 * mask. convert -> enhance -> train (a few steps at a small crop) -> evaluate.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { encodeBmp24 } from '../../stages/lib/image/bmp.ts';
import type { RgbImage } from '../../stages/lib/image/types.ts';
import { parseSplitList } from '../../stages/lib/tf/samples.ts';
import { PKG_ROOT, TestRepo } from '../helpers/repo.ts';

type Rgb = [number, number, number];

/** A mask: background with one block per class (`first` shifts which classes, so every class occurs in the set). */
function drawMask(w: number, h: number, palette: Rgb[], first: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  const blocks = 4;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const bx = Math.floor((x / w) * blocks);
      const inBlock = y > h / 4 && y < (3 * h) / 4 && x % (w / blocks) > 8;
      const c = inBlock ? 1 + ((first + bx) % (palette.length - 1)) : 0;
      data.set(palette[c]!, (y * w + x) * 3);
    }
  }
  return { data, width: w, height: h };
}

/** A photo whose colours follow the mask (darkened, with noise). */
function photoOf(mask: RgbImage): RgbImage {
  const data = new Uint8Array(mask.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(255, 20 + ((mask.data[i]! * 0.6) | 0) + ((i * 7919) % 23));
  return { data, width: mask.width, height: mask.height };
}

const raw = (img: RgbImage) => sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });

describe('own data through the example pipeline', () => {
  let repo: TestRepo;
  afterEach(async () => repo?.dispose());

  it('8-class BMP masks, mixed photo sizes: convert -> enhance -> train -> evaluate, one class list', async () => {
    const doc = parseDocument(await readFile(path.join(PKG_ROOT, 'examples/own-data/pipeline.yaml'), 'utf8'));
    // Quick: a few steps at a small crop, a narrow model from scratch (the ImageNet trunk the example
    // uses by default has its own tests, and its package may be absent here).
    doc.setIn(['vars', 'steps'], 3);
    doc.setIn(['vars', 'crop'], 32);
    const small = { backbone: 'scratch', width: 0.25, asppChannels: 8, decoderChannels: 8, batch: 1 };
    for (const [k, v] of Object.entries(small)) doc.setIn(['stages', 'train', 'params', k], v);
    const palette = (doc.getIn(['stages', 'labels', 'params', 'palette']) as { toJSON(): { name: string; color: Rgb }[] }).toJSON();
    expect(palette).toHaveLength(8);
    repo = await TestRepo.create({ 'pipeline.yaml': doc.toString() });

    const colours = palette.map((e) => e.color);
    const sets: { stem: string; w: number; h: number; kind: 'jpg' | 'grey' | 'exif' }[] = [
      { stem: 'dive 01', w: 640, h: 480, kind: 'jpg' },
      { stem: 'dive.02', w: 480, h: 448, kind: 'grey' },
      { stem: 'd03', w: 640, h: 480, kind: 'exif' },
      { stem: 'd04', w: 480, h: 448, kind: 'jpg' },
    ];
    for (const [i, s] of sets.entries()) {
      const mask = drawMask(s.w, s.h, colours, i * 2);
      await repo.write(`data/own/masks/${s.stem}.bmp`, encodeBmp24(mask));
      const photo = photoOf(mask);
      const bytes =
        s.kind === 'grey'
          ? await raw(photo).greyscale().jpeg().toBuffer()
          : s.kind === 'exif'
            ? // stored turned 90 degrees clockwise, tagged so viewers turn it back (orientation 8)
              await raw(photo).rotate(90).jpeg().withMetadata({ orientation: 8 }).toBuffer()
            : await raw(photo).jpeg().toBuffer();
      await repo.write(`data/own/photos/${s.stem}.${s.kind === 'exif' ? 'JPG' : 'jpg'}`, bytes);
    }
    await repo.write('data/own/photos/extra.jpg', await raw(photoOf(drawMask(64, 48, colours, 0))).jpeg().toBuffer());
    await repo.write('data/own/photos/Thumbs.db', 'not an image');

    const run = await repo.pipe(['run']);
    expect(run.code, run.stdout + run.stderr).toBe(0);

    const names = palette.map((e) => e.name);
    const classes = JSON.parse(await repo.read('work/own/labels/classes.json'));
    expect(classes.classes.map((c: { name: string }) => c.name)).toEqual(names);
    expect(classes.files).toBe(4);
    // every class has pixels; no colour was unknown
    expect(classes.emptyClasses).toEqual([]);
    expect(classes.unknownPixels).toBe(0);
    expect(classes.imagesWithoutMask).toEqual(['extra']);
    const test = (await repo.read('work/own/labels/test.txt')).trim().split('\n');
    const train = (await repo.read('work/own/labels/train.txt')).trim().split('\n');
    expect(test).toHaveLength(1);
    expect(train).toHaveLength(3);

    // the model carries the class list; train.json counts pixels per class
    const model = JSON.parse(await repo.read('models/own/model.json'));
    expect(model.modelTopology.classes.names).toEqual(names);
    const trained = JSON.parse(await repo.read('models/own/train.json'));
    expect(Object.keys(trained.pixels)).toEqual(names);

    // evaluate: the same class list, each test photo predicted at its own (displayed) size
    const metrics = JSON.parse(await repo.read('results/own/metrics.json'));
    expect(metrics.classes).toEqual(names);
    expect(metrics.images).toBe(1);
    const stem = parseSplitList(test[0]!)[0]!;
    const s = sets.find((x) => x.stem === stem)!;
    const pred = await sharp(repo.path(`results/own/pred/${stem}.png`)).metadata();
    expect([pred.width, pred.height]).toEqual([s.w, s.h]);
  }, 180_000);
});
