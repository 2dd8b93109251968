/**
 * `backbone: imagenet` through the train stage: the same tiny run learns
 * faster from the pretrained trunk than from scratch, freezing leaves the
 * frozen layers untouched, and a wrong width or freeze without a pretrained
 * trunk is a clear failure.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { FailureError } from '../../src/failure.ts';
import { loadModel } from '../../stages/lib/tf/io-handler.ts';
import { bundledImagenet, foldTrunk } from '../../stages/lib/tf/pretrained/keras-mobilenetv2.ts';
import train from '../../stages/train/index.ts';
import { makeCtx, makeDataset, tempDir, tinyParams } from './tf-fixtures.ts';

if (train.kind !== 'whole') throw new Error('train must be a whole stage');
const run = train.run.bind(train);

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('train with a pretrained trunk', () => {
  it('learns faster from ImageNet weights than from scratch (loss after N steps)', async () => {
    const root = await tempDir();
    const data = await makeDataset(root, 8, 64);
    const common = { crop: 64, steps: 12, optimizer: 'sgd' as const, lr: 0.01, checkpointEvery: 100, asppChannels: 16, decoderChannels: 16, width: 1 };
    const losses: Record<string, number[]> = {};
    for (const backbone of ['imagenet', 'scratch']) {
      const ctx = makeCtx(root, tinyParams(data, { ...common, backbone, out: `models/${backbone}` }), await tempDir());
      await run(ctx);
      losses[backbone] = ctx.events.map((e) => e.values!['loss']!);
    }
    const pre = mean(losses['imagenet']!.slice(-4));
    const scratch = mean(losses['scratch']!.slice(-4));
    expect(pre, `pretrained ${losses['imagenet']} vs scratch ${losses['scratch']}`).toBeLessThan(scratch * 0.8);
  });

  it('freeze keeps the stem and the first blocks at their ImageNet values and trains the rest', async () => {
    const root = await tempDir();
    const data = await makeDataset(root, 4, 32);
    const params = tinyParams(data, { backbone: 'imagenet', width: undefined, freeze: 3, steps: 3, optimizer: 'sgd', lr: 0.01, checkpointEvery: 100 });
    const ctx = makeCtx(root, params, await tempDir());
    await run(ctx);
    const { model, topology } = await loadModel(path.join(root, 'models/tiny'));
    expect(topology.config).toMatchObject({ width: 1, trunk: 'folded' });
    const folded = foldTrunk(await bundledImagenet());
    const same = (n: string) => {
      const a = model.store.params.get(n)!.variable;
      return tf.tidy(() => tf.max(tf.abs(tf.sub(a, folded.weights[n]!))).dataSync()[0]!) === 0;
    };
    expect(same('stem/w')).toBe(true);
    expect(same('block2/project/w')).toBe(true);
    expect(same('block3/expand/w')).toBe(false);
    expect(ctx.logs.some((l) => /frozen: the stem and blocks 0-2/.test(l))).toBe(true);
    model.dispose();
    tf.dispose(Object.values(folded.weights));
    const metrics = JSON.parse(await readFile(path.join(root, 'models/tiny/train.json'), 'utf8'));
    expect(metrics.steps).toBe(3);
  });

  it('refuses a width the pretrained trunk does not have, and freeze from scratch', async () => {
    const root = await tempDir();
    const data = await makeDataset(root, 2, 32);
    for (const [over, message] of [
      [{ backbone: 'imagenet', width: 0.5 }, /width 0.5 does not fit the pretrained trunk, whose width is 1/],
      [{ backbone: 'scratch', freeze: 2 }, /freeze: 2 needs a pretrained trunk/],
      [{ backbone: 'no/such/folder' }, /backbone no\/such\/folder: cannot read a Keras model/],
    ] as const) {
      const ctx = makeCtx(root, tinyParams(data, { steps: 1, ...over }), await tempDir());
      const e = await run(ctx).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(FailureError);
      expect((e as FailureError).failure.message).toMatch(message);
    }
  });
});
