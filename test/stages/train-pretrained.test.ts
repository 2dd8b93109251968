/**
 * `backbone: imagenet` through the train stage: freezing leaves the frozen
 * layers at their ImageNet values and trains the rest, and a wrong width,
 * freeze without a pretrained trunk, or a missing backbone folder is a clear
 * failure.
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

describe('train with a pretrained trunk', () => {
  it('freeze keeps the stem and the first blocks at their ImageNet values and trains the rest', { timeout: 120_000 }, async () => {
    const root = await tempDir();
    const data = await makeDataset(root, 4, 32);
    const params = tinyParams(data, { backbone: 'imagenet', width: undefined, freeze: 3, steps: 2, optimizer: 'sgd', lr: 0.01, checkpointEvery: 100, backend: 'wasm' });
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
    expect(metrics.steps).toBe(2);
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
