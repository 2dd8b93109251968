import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/failure.ts';
import evaluate from '../../stages/evaluate/index.ts';
import { evaluateParams } from '../../stages/evaluate/params.ts';
import { sampleIndices } from '../../stages/evaluate/run.ts';
import { extendPalette } from '../../stages/lib/image/palette.ts';
import { selectBackend } from '../../stages/lib/tf/backend.ts';
import { crfParamsSchema } from '../../stages/lib/tf/crf.ts';
import { saveModel } from '../../stages/lib/tf/io-handler.ts';
import { buildModel } from '../../stages/lib/tf/models/index.ts';
import { makeCtx, makeDataset, tempDir } from './tf-fixtures.ts';

let root: string;
let data: { images: string; labels: string; list: string };

beforeAll(async () => {
  root = await tempDir();
  data = await makeDataset(root, 3, 24, 3);
  expect((await selectBackend('cpu', { training: false })).ok).toBe(true);
  // An untrained (seeded) model predicts a mix of classes: enough to check the bookkeeping.
  const m = buildModel({ arch: 'largefov', numClasses: 3, width: 0.125, outputStride: 8, norm: 'group', asppChannels: 8, decoderChannels: 8 }, { seed: 12 });
  await saveModel(m, path.join(root, 'models/m'));
  m.dispose();
});

async function run(over: Record<string, unknown> = {}): Promise<void> {
  const params = evaluateParams.parse({ model: 'models/m', ...data, out: 'eval/m', samples: 2, ...over });
  if (evaluate.kind !== 'whole') throw new Error('evaluate must be a whole stage');
  await evaluate.run(makeCtx(root, params, await tempDir()));
}

describe('evaluate stage', () => {
  it('declares its deps, outs and metrics', () => {
    const p = evaluateParams.parse({ model: 'm', images: 'i', labels: 'l', list: 'x.txt', out: 'o' });
    // The model's own files, not the folder: train's timings beside them must not enter evaluate's key.
    expect(evaluate.io(p)).toEqual({ deps: ['m/model.json', 'm/weights.bin', 'i', 'l', 'x.txt'], outs: ['o'], metrics: ['o/metrics.json'] });
    // the class list comes from the labels folder and the model unless given
    expect(p.classes).toBeUndefined();
    expect(p.samples).toBe(8);
    expect(evaluate.resources!(p)).toEqual({ gpu: 1, cpu: 1 });
  });

  it('writes metrics whose confusion matrix matches its own prediction PNGs', async () => {
    await run();
    const metrics = JSON.parse(await readFile(path.join(root, 'eval/m/metrics.json'), 'utf8'));
    const palette = extendPalette(3, [
      [0, 0, 0],
      [128, 0, 0],
      [0, 128, 0],
    ]);
    // Recompute the confusion matrix from the palette PNGs and the labels.
    const cm = [0, 1, 2].map(() => [0, 0, 0]);
    const stems = (await readdir(path.join(root, 'eval/m/pred'))).map((f) => f.replace('.png', '')).sort();
    expect(stems).toEqual(['img00', 'img01', 'img02']);
    for (const stem of stems) {
      const pred = await sharp(path.join(root, 'eval/m/pred', `${stem}.png`)).raw().toBuffer({ resolveWithObject: true });
      const lab = await sharp(path.join(root, data.labels, `${stem}.png`)).raw().toBuffer({ resolveWithObject: true });
      expect(pred.info.width).toBe(24);
      for (let i = 0; i < 24 * 24; i++) {
        const o = i * pred.info.channels;
        const c = palette.findIndex((p) => p[0] === pred.data[o] && p[1] === pred.data[o + 1] && p[2] === pred.data[o + 2]);
        expect(c).toBeGreaterThanOrEqual(0);
        const g = lab.data[i * lab.info.channels]!;
        if (g !== 255) cm[g]![c]! += 1;
      }
    }
    expect(metrics.confusion).toEqual(cm);
    const total = cm.flat().reduce((a, b) => a + b, 0);
    expect(metrics.pixels).toBe(total);
    expect(metrics.pixelAccuracy).toBeCloseTo((cm[0]![0]! + cm[1]![1]! + cm[2]![2]!) / total, 10);
    const iou = [0, 1, 2].map((c) => {
      const union = cm[c]!.reduce((a, b) => a + b, 0) + cm.reduce((a, r) => a + r[c]!, 0) - cm[c]![c]!;
      return union ? cm[c]![c]! / union : null;
    });
    expect([metrics.iou.background, metrics.iou.valve, metrics.iou.pipe]).toEqual(iou);
    expect((await readdir(path.join(root, 'eval/m/overlays'))).sort()).toEqual(['img00.png', 'img01.png']);
    const ov = await sharp(path.join(root, 'eval/m/overlays/img00.png')).metadata();
    expect([ov.width, ov.height]).toEqual([72, 24]);
    // The sampled images also get their truth in colour and an error map, with the error share as caption (for the report).
    for (const d of ['truth', 'errors']) expect((await readdir(path.join(root, 'eval/m', d))).sort()).toEqual(['img00.png', 'img01.png']);
    const captions = JSON.parse(await readFile(path.join(root, 'eval/m/samples.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(captions).sort()).toEqual(['img00', 'img01']);
    expect(captions.img00).toMatch(/^\d+\.\d% wrong$/);
  });

  it('with a CRF, says so in metrics.json; with its weights at 0 it predicts what the plain argmax does', async () => {
    await run({ out: 'eval/plain', flip: true });
    await run({ out: 'eval/crf0', flip: true, crf: { appearance: { weight: 0 }, smoothness: { weight: 0 } } });
    await run({ out: 'eval/crf', flip: true, crf: true });
    const read = async (d: string) => JSON.parse(await readFile(path.join(root, d, 'metrics.json'), 'utf8'));
    const [plain, crf0, crf] = await Promise.all(['eval/plain', 'eval/crf0', 'eval/crf'].map(read));
    expect(plain.crf).toBeNull();
    expect(crf0.confusion).toEqual(plain.confusion);
    expect(crf.crf).toEqual(crfParamsSchema.parse({}));
    expect(crf.testTimeFlip).toBe(true);
    // The untrained model's speckled prediction is smoothed along the image's colours: it changes.
    expect(crf.confusion).not.toEqual(plain.confusion);
    expect(evaluateParams.safeParse({ model: 'm', images: 'i', labels: 'l', out: 'o', crf: { radius: 0 } }).success).toBe(false);
  });

  it('refuses class names that do not match the model', async () => {
    const e = await run({ classes: ['a', 'b'] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FailureError);
    expect((e as FailureError).failure.kind).toBe('bad-params');
  });

  it('spreads overlay samples over the list', () => {
    expect([...sampleIndices(10, 3)]).toEqual([0, 3, 6]);
    expect([...sampleIndices(2, 8)]).toEqual([0, 1]);
    expect(sampleIndices(5, 0).size).toBe(0);
  });
});
