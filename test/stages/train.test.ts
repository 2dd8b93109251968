import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FailureError } from '../../src/failure.ts';
import evaluate from '../../stages/evaluate/index.ts';
import { evaluateParams } from '../../stages/evaluate/params.ts';
import train from '../../stages/train/index.ts';
import { makeCtx, makeDataset, tempDir, tinyParams } from './tf-fixtures.ts';

describe('train + evaluate end to end', () => {
  it('loss falls, outputs and metrics are written, evaluate scores the model', async () => {
    const root = await tempDir();
    const data = await makeDataset(root, 6);
    const params = tinyParams(data, { steps: 10, checkpointEvery: 100 });
    expect(train.io(params)).toEqual({
      deps: [data.images, data.labels, data.list],
      outs: ['models/tiny'],
      metrics: ['models/tiny/train.json'],
    });
    const ctx = makeCtx(root, params, await tempDir());
    if (train.kind !== 'whole') throw new Error('train must be a whole stage');
    await train.run(ctx);

    expect(ctx.events.map((e) => e.step)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(ctx.events.every((e) => e.total === 10 && e.values?.['lr'] !== undefined && e.values?.['imagesPerSec']! > 0)).toBe(true);
    const losses = ctx.events.map((e) => e.values!['loss']!);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-3))).toBeLessThan(mean(losses.slice(0, 3)));

    const out = path.join(root, 'models/tiny');
    expect((await readdir(out)).sort()).toEqual(['curve.csv', 'model.json', 'train.json', 'weights.bin']);
    const metrics = JSON.parse(await readFile(path.join(out, 'train.json'), 'utf8'));
    expect(metrics).toMatchObject({ steps: 10, backend: 'cpu', images: 6, resumedFrom: 0 });
    expect(metrics.finalLoss).toBeCloseTo(mean(losses.slice(-10)), 6);
    const curve = (await readFile(path.join(out, 'curve.csv'), 'utf8')).trim().split('\n');
    expect(curve[0]).toBe('step,loss,lr,imagesPerSec');
    expect(curve).toHaveLength(11);

    // Evaluate the trained model on the same split (wasm backend for inference).
    const eparams = evaluateParams.parse({ model: 'models/tiny', ...data, out: 'eval/tiny', samples: 2, backend: 'wasm' });
    const ectx = makeCtx(root, eparams, await tempDir());
    if (evaluate.kind !== 'whole') throw new Error('evaluate must be a whole stage');
    await evaluate.run(ectx);
    const m = JSON.parse(await readFile(path.join(root, 'eval/tiny/metrics.json'), 'utf8'));
    expect(m.classes).toEqual(['background', 'valve', 'pipe']);
    expect(m.backend).toBe('wasm');
    expect(m.images).toBe(6);
    for (const v of [m.meanIoU, m.pixelAccuracy, m.frequencyWeightedIoU]) expect(v).toBeGreaterThanOrEqual(0), expect(v).toBeLessThanOrEqual(1);
    // Background is most pixels: even a briefly trained model gets it mostly right.
    expect(m.iou.background).toBeGreaterThan(0.5);
    expect((await readdir(path.join(root, 'eval/tiny/pred'))).length).toBe(6);
    expect((await readdir(path.join(root, 'eval/tiny/overlays'))).length).toBe(2);
  });
});

describe('train stage failures', () => {
  it('fails with missing-dep naming the files a list refers to but that do not exist', async () => {
    const root = await tempDir();
    const data = await makeDataset(root, 1);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(root, data.list), 'images/img00.jpg masks/img00.png\nimages/nope.jpg masks/nope.png\n');
    if (train.kind !== 'whole') throw new Error('train must be a whole stage');
    const e = await train.run(makeCtx(root, tinyParams(data, { steps: 1 }), await tempDir())).catch((x: unknown) => x);
    expect((e as FailureError).failure.kind).toBe('missing-dep');
    expect((e as FailureError).failure.message).toMatch(/nope/);
  });
});
