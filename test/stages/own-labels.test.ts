/**
 * Users' own masks and labels, on files the tests write: binary 0/255 masks,
 * a class whose colour is grey, JPEG masks, 16-bit and transparent masks,
 * names with spaces and dots, unpaired files, and class lists that disagree
 * (params vs classes.json, a 3-class model vs 4-class labels).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FailureError } from '../../src/failure.ts';
import type { Json, PerItemStage } from '../../src/stage-api.ts';
import convert from '../../stages/convert/index.ts';
import { convertParams, type ConvertParams } from '../../stages/convert/params.ts';
import evaluate from '../../stages/evaluate/index.ts';
import { evaluateParams } from '../../stages/evaluate/params.ts';
import { writeImage } from '../../stages/lib/image/io.ts';
import { readMask } from '../../stages/lib/image/mask-io.ts';
import { STUDY_PALETTE, type PaletteEntry } from '../../stages/lib/image/palette.ts';
import type { RgbImage } from '../../stages/lib/image/types.ts';
import { selectBackend } from '../../stages/lib/tf/backend.ts';
import { saveModel } from '../../stages/lib/tf/io-handler.ts';
import { checkLabelSet, decodeLabelFile, labelSpec } from '../../stages/lib/tf/labels.ts';
import { buildModel } from '../../stages/lib/tf/models/index.ts';
import { pairSamples, parseSplitList } from '../../stages/lib/tf/samples.ts';
import train from '../../stages/train/index.ts';
import { itemCtx, setPx, solid, stageCtx } from '../fixtures/images/helpers.ts';
import { makeCtx, tempDir, tinyParams } from './tf-fixtures.ts';

const conv = convert as PerItemStage<ConvertParams>;
type Rgb = [number, number, number];

/** A 16x12 mask: `bg` with a 6x4 block of `fg` at (4, 4). */
function blockMask(bg: Rgb, fg: Rgb): RgbImage {
  const m = solid(16, 12, bg);
  for (let y = 4; y < 8; y++) for (let x = 4; x < 10; x++) setPx(m, x, y, fg);
  return m;
}

/** Runs convert over every mask of `root/masks` (as the runner would) and returns the logs. */
async function runConvert(root: string, over: Record<string, unknown>, rels: string[]): Promise<{ logs: string[]; out: string }> {
  const params = convertParams.parse({ masks: 'masks', out: 'labels', ...over });
  const logs: string[] = [];
  const items: { rel: string; summary: Json | undefined }[] = [];
  for (const rel of rels) {
    const res = await conv.processItem(itemCtx(root, params, 'masks', rel, path.join(root, 'labels'), logs));
    items.push({ rel, summary: res.summary });
  }
  const ctx = { ...stageCtx(root, params), log: (l: string) => logs.push(l) };
  await conv.reduce!(ctx, items);
  return { logs, out: path.join(root, 'labels') };
}

async function grey(file: string): Promise<number[]> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return Array.from(data.filter((_, i) => i % info.channels === 0));
}

async function failureOf(p: Promise<unknown>): Promise<FailureError['failure']> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(FailureError);
  return (e as FailureError).failure;
}

function crc32(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of buf) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A 16-bit grey PNG (sharp writes 16-bit only from 16-bit sources; this is the format tools save). */
function png16(w: number, h: number, values: number[]): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 16;
  ihdr[9] = 0;
  const rows = Buffer.alloc(h * (1 + 2 * w));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rows.writeUInt16BE(values[y * w + x]!, y * (1 + 2 * w) + 1 + 2 * x);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

describe('binary 0/255 masks', () => {
  it('convert with the default palette fails with the fix; with binary: true the white is class 1', async () => {
    const root = await tempDir('pipe-own-');
    for (const n of ['a', 'b']) await writeImage(path.join(root, `masks/${n}.png`), { ...blockMask([0, 0, 0], [255, 255, 255]), data: grey1(blockMask([0, 0, 0], [255, 255, 255])) }, { format: 'png' });
    const f = await failureOf(runConvert(root, {}, ['a.png', 'b.png']));
    expect(f.message).toMatch(/black and white \(0\/255\).*no class for white/);
    expect(f.hint).toMatch(/binary: true/);

    const { out } = await runConvert(root, { binary: true }, ['a.png', 'b.png']);
    const labels = await grey(path.join(out, 'a.png'));
    expect(labels.filter((v) => v === 1)).toHaveLength(24);
    expect(labels.filter((v) => v === 0)).toHaveLength(16 * 12 - 24);
    const classes = JSON.parse(await readFile(path.join(out, 'classes.json'), 'utf8'));
    expect(classes.classes.map((c: { name: string; pixels: number }) => [c.name, c.pixels])).toEqual([
      ['background', 2 * (16 * 12 - 24)],
      ['foreground', 48],
    ]);
  });

  it('train on 0/255 masks read as indices fails with the hint instead of learning background only', async () => {
    const root = await tempDir('pipe-own-');
    await mkdir(path.join(root, 'data/images'), { recursive: true });
    for (const n of ['a', 'b']) {
      await writeImage(path.join(root, `data/images/${n}.jpg`), solid(32, 32, [40, 60, 80]), { format: 'jpg' });
      const m = { data: new Uint8Array(32 * 32), width: 32, height: 32 };
      m.data.fill(255, 0, 300);
      await writeImage(path.join(root, `data/masks/${n}.png`), m, { format: 'png' });
    }
    const params = tinyParams({ images: 'data/images', labels: 'data/masks', list: undefined as never }, { steps: 1, classes: 2 });
    if (train.kind !== 'whole') throw new Error('train must be a whole stage');
    const f = await failureOf(train.run(makeCtx(root, params, await tempDir())));
    expect(f.message).toMatch(/hold only 0 and 255/);
    expect(f.hint).toMatch(/binary: true/);
  });
});

/** A grey (one-channel) copy of an RGB image's first channel. */
function grey1(m: RgbImage): Uint8Array {
  return m.data.filter((_, i) => i % 3 === 0);
}

describe('a colour mask whose only class colour is grey', () => {
  const palette: PaletteEntry[] = [
    { name: 'water', color: [0, 0, 0] },
    { name: 'rock', color: [128, 128, 128] },
  ];

  it('convert reads it through the palette, also when saved as a grey PNG', async () => {
    const root = await tempDir('pipe-own-');
    const m = blockMask([0, 0, 0], [128, 128, 128]);
    await writeImage(path.join(root, 'masks/rgb.png'), m, { format: 'png' });
    await writeImage(path.join(root, 'masks/grey.png'), { ...m, data: grey1(m) }, { format: 'png' });
    expect((await sharp(path.join(root, 'masks/grey.png')).metadata()).channels).toBe(1);
    const { out } = await runConvert(root, { palette }, ['grey.png', 'rgb.png']);
    for (const f of ['rgb.png', 'grey.png']) expect((await grey(path.join(out, f))).filter((v) => v === 1)).toHaveLength(24);
  });

  it('train/evaluate read it as a colour mask with a palette, and refuse it as index labels without one', async () => {
    const root = await tempDir('pipe-own-');
    const file = path.join(root, 'masks/x.png');
    await writeImage(file, blockMask([0, 0, 0], [128, 128, 128]), { format: 'png' });
    const asColour = await labelSpec({ labelsAbs: path.join(root, 'masks'), labelsName: 'masks', palette });
    expect(asColour.mode).toBe('colour');
    const l = await decodeLabelFile(file, 'masks/x.png', asColour);
    expect(l.counts).toEqual([16 * 12 - 24, 24]);
    const asIndex = await labelSpec({ labelsAbs: path.join(root, 'masks'), labelsName: 'masks', classes: ['water', 'rock'] });
    const f = await failureOf(decodeLabelFile(file, 'masks/x.png', asIndex));
    expect(f.message).toMatch(/^masks\/x\.png: label values 128 are neither a class \(0\.\.1 of 2 classes \(water, rock\)/);
    expect(f.message).toMatch(/values found: 0, 128/);
    expect(f.hint).toMatch(/convert/);
  });
});

describe('mask formats', () => {
  it('JPEG masks snap to the palette (tolerance auto); a colour missing from the palette fails naming it', async () => {
    const root = await tempDir('pipe-own-');
    const m = solid(40, 30, [0, 0, 0]);
    for (let y = 5; y < 20; y++) for (let x = 3; x < 20; x++) setPx(m, x, y, [128, 0, 0]);
    for (let y = 22; y < 28; y++) for (let x = 0; x < 40; x++) setPx(m, x, y, [0, 128, 0]);
    await writeImage(path.join(root, 'masks/j.jpg'), m, { format: 'jpg', quality: 70 });
    const { out, logs } = await runConvert(root, {}, ['j.jpg']);
    const labels = await grey(path.join(out, 'j.png'));
    expect(labels[10 * 40 + 10]).toBe(1);
    expect(labels[25 * 40 + 30]).toBe(2);
    expect(labels[2 * 40 + 30]).toBe(0);
    const classes = JSON.parse(await readFile(path.join(out, 'classes.json'), 'utf8'));
    expect(classes.snappedPixels).toBeGreaterThan(0);
    // JPEG ringing at class edges beyond the tolerance is ignored, and little of it
    expect(classes.unknownFraction).toBeLessThan(0.02);
    expect(logs.filter((l) => l.startsWith('warning') && !l.includes('not in the palette'))).toEqual([]);

    // the same mask with a blue region the palette lacks: a failure naming the colour
    for (let y = 0; y < 4; y++) for (let x = 0; x < 40; x++) setPx(m, x, y, [0, 0, 255]);
    await writeImage(path.join(root, 'masks/j.png'), m, { format: 'png' });
    const f = await failureOf(runConvert(root, {}, ['j.png']));
    expect(f.message).toMatch(/^13\.3% of the pixels of the masks in masks have the colour \(0,0,255\) \(or close to it\), which is not in the palette/);
  });

  it('16-bit index values stay values, 0/65535 scales to 0/255; transparent pixels are class 0', async () => {
    const root = await tempDir('pipe-own-');
    await writeFile(path.join(root, 'idx16.png'), png16(4, 1, [0, 1, 2, 255]));
    const a = await readMask(path.join(root, 'idx16.png'));
    expect([a.channels, Array.from(a.data), a.scaled16]).toEqual([1, [0, 1, 2, 255], false]);
    await writeFile(path.join(root, 'bin16.png'), png16(3, 1, [0, 65535, 0]));
    const b = await readMask(path.join(root, 'bin16.png'));
    expect([Array.from(b.data), b.scaled16]).toEqual([[0, 255, 0], true]);
    // transparent white (what some tools store under "nothing") and an opaque valve pixel
    await sharp(Buffer.from([255, 255, 255, 0, 128, 0, 0, 255]), { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(path.join(root, 'alpha.png'));
    const c = await readMask(path.join(root, 'alpha.png'));
    expect([Array.from(c.data), c.transparent]).toEqual([[0, 0, 0, 128, 0, 0], 1]);
  });
});

describe('pairing images and labels', () => {
  it('matches by name in any format and case, with spaces and dots; reports files without a partner', async () => {
    const root = await tempDir('pipe-own-');
    const img = solid(8, 8, [9, 9, 9]);
    for (const f of ['my photo.JPG', 'a.b.c.png', 'sub/d.TIF', 'lonely.jpg']) await writeImage(path.join(root, 'images', f), img, { format: f.endsWith('png') ? 'png' : 'jpg' });
    for (const f of ['my photo.png', 'a.b.c.bmp', 'sub/d.png', 'orphan.png']) await writeImage(path.join(root, 'labels', f), img, { format: 'png' });
    await writeFile(path.join(root, 'labels/classes.json'), '{}');
    await writeFile(path.join(root, 'images/Thumbs.db'), 'x');
    const dirs = { images: { abs: path.join(root, 'images'), name: 'images' }, labels: { abs: path.join(root, 'labels'), name: 'labels' } };
    const all = await pairSamples(dirs);
    expect(all.samples.map((s) => [s.stem, path.basename(s.image), path.basename(s.label)])).toEqual([
      ['a.b.c', 'a.b.c.png', 'a.b.c.bmp'],
      ['my photo', 'my photo.JPG', 'my photo.png'],
      ['sub/d', 'd.TIF', 'd.png'],
    ]);
    expect(all.warnings).toEqual(['1 image(s) in images have no label and are left out: lonely', '1 label(s) in labels have no image and are left out: orphan']);

    expect(parseSplitList('my photo.JPG my photo.png\nimages/a.b.c.png\tlabels/a.b.c.bmp\nd.TIF d.png\n')).toEqual(['my photo', 'a.b.c', 'd']);
    await writeFile(path.join(root, 'list.txt'), 'my photo.JPG my photo.png\nd\n');
    const listed = await pairSamples({ ...dirs, list: { abs: path.join(root, 'list.txt'), name: 'list.txt' } });
    expect(listed.samples.map((s) => s.stem)).toEqual(['my photo', 'd']);

    await writeImage(path.join(root, 'images/a.b.c.jpg'), img, { format: 'jpg' });
    const f = await failureOf(pairSamples(dirs));
    expect(f.message).toMatch(/image folder images holds two files named a\.b\.c: a\.b\.c\.jpg and a\.b\.c\.png/);
  });
});

describe('one class list', () => {
  it('params that disagree with classes.json fail naming both; a class without pixels is a warning', async () => {
    const root = await tempDir('pipe-own-');
    await mkdir(path.join(root, 'labels'), { recursive: true });
    await writeFile(path.join(root, 'labels/classes.json'), JSON.stringify({ classes: STUDY_PALETTE, ignoreLabel: 255 }));
    const at = { labelsAbs: path.join(root, 'labels'), labelsName: 'labels' };
    expect((await labelSpec(at)).classes.names).toEqual(['background', 'valve', 'pipe']);
    expect((await labelSpec({ ...at, classes: 3 })).mode).toBe('index');
    const f = await failureOf(labelSpec({ ...at, classes: ['background', 'pipe', 'valve'] }));
    expect(f.message).toBe("the stage's params name 3 classes (background, pipe, valve) but labels/classes.json lists 3 classes (background, valve, pipe)");
    const g = await failureOf(labelSpec({ ...at, palette: [[0, 0, 0], [128, 0, 0], [0, 0, 128]] }));
    expect(g.message).toMatch(/palette param has colours \(0,0,0\) \(128,0,0\) \(0,0,128\) but labels\/classes\.json has \(0,0,0\) \(128,0,0\) \(0,128,0\)/);
    const none = await failureOf(labelSpec({ labelsAbs: path.join(root, 'nothing'), labelsName: 'nothing' }));
    expect(none.message).toMatch(/no class list for nothing/);

    const spec = await labelSpec(at);
    expect(checkLabelSet({ pixels: [10, 5, 0], ignored: 0 }, spec, 'the training set', 'training')).toEqual([
      "class 'pipe' of 3 has no pixels in the training set: the model cannot learn it",
    ]);
  });

  it('evaluate refuses a 3-class model on 4-class labels, naming both lists', async () => {
    const root = await tempDir('pipe-own-');
    expect((await selectBackend('cpu', { training: false })).ok).toBe(true);
    const m = buildModel({ arch: 'largefov', numClasses: 3, width: 0.125, outputStride: 8, norm: 'group', asppChannels: 8, decoderChannels: 8 }, { seed: 1 });
    await saveModel(m, path.join(root, 'models/m'), { classes: { names: ['background', 'valve', 'pipe'], colors: STUDY_PALETTE.map((e) => e.color), ignoreLabel: 255 } });
    m.dispose();
    const four = [...STUDY_PALETTE, { name: 'flange', color: [0, 0, 128] as Rgb }];
    await writeImage(path.join(root, 'images/x.png'), solid(16, 16, [0, 0, 0]), { format: 'png' });
    await writeImage(path.join(root, 'masks/x.png'), solid(16, 16, [0, 0, 128]), { format: 'png' });
    await runConvert(root, { palette: four, maxUnknown: 1 }, ['x.png']);
    const params = evaluateParams.parse({ model: 'models/m', images: 'images', labels: 'labels', out: 'eval', backend: 'cpu' });
    if (evaluate.kind !== 'whole') throw new Error('evaluate must be a whole stage');
    const f = await failureOf(evaluate.run(makeCtx(root, params, await tempDir())));
    expect(f.message).toBe('the model in models/m was trained on 3 classes (background, valve, pipe) but labels/classes.json lists 4 classes (background, valve, pipe, flange)');
  });
});

describe('unknown colours', () => {
  it('group around their most common colour: a missing class is one big group, blends are many small ones', async () => {
    const { groupColours } = await import('../../stages/lib/image/palette.ts');
    const key = (r: number, g: number, b: number) => (r << 16) | (g << 8) | b;
    // a blue region with JPEG noise, and edge blends between black and red spread along the red axis
    const blue: [number, number][] = [[key(0, 0, 255), 500], [key(3, 0, 250), 40], [key(0, 6, 244), 30]];
    const blends: [number, number][] = Array.from({ length: 10 }, (_, i) => [key(i * 25, 0, 0), 20] as [number, number]);
    const groups = groupColours([...blends, ...blue]);
    expect(groups[0]).toEqual([key(0, 0, 255), 570]);
    expect(groups.slice(1).every(([, n]) => n <= 40)).toBe(true);
    expect(groups.reduce((a, [, n]) => a + n, 0)).toBe(770);
  });
});

describe('tolerance auto', () => {
  it('is under half the closest palette distance, at most 48: an edge blend never snaps to a third class', async () => {
    const { autoTolerance, colorsToLabels } = await import('../../stages/lib/image/palette.ts');
    expect(autoTolerance(STUDY_PALETTE)).toBe(48);
    const close: PaletteEntry[] = [
      { name: 'a', color: [0, 0, 0] },
      { name: 'b', color: [40, 0, 0] },
    ];
    expect(autoTolerance(close)).toBe(19);
    const rgby: PaletteEntry[] = [
      { name: 'red', color: [255, 0, 0] },
      { name: 'green', color: [0, 255, 0] },
      { name: 'yellow', color: [255, 255, 0] },
    ];
    const m = solid(2, 1, [128, 128, 0]); // red blended with green
    setPx(m, 1, 0, [250, 4, 3]);
    expect(Array.from(colorsToLabels(m, rgby, 255, autoTolerance(rgby)).labels.data)).toEqual([255, 0]);
  });
});
