import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackends } from '../../bench/train-step-backends.ts';
import { registerWasmTrainingKernels } from '../../stages/lib/tf-kernels/index.ts';
import { DataParallel, labelWeight } from '../../stages/lib/tf/data-parallel.ts';
import { buildModel, type ModelConfig } from '../../stages/lib/tf/models/index.ts';
import { Optimizer, type OptimizerConfig } from '../../stages/lib/tf/optimizer.ts';
import { trainStep } from '../../stages/lib/tf/train-step.ts';

const config: ModelConfig = { arch: 'deeplabv3plus', numClasses: 3, width: 0.35, outputStride: 16, norm: 'group', asppChannels: 16, decoderChannels: 16, trunk: 'norm' };
const opt: OptimizerConfig = { kind: 'sgd', momentum: 0.9, weightDecay: 5e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
const classWeights = [1, 3, 1];
let images: tf.Tensor4D;
let labels: tf.Tensor3D;

beforeAll(async () => {
  await initBackends();
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
  // Two different images; labels with ignored pixels, unevenly many per image.
  let s = 3;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  images = tf.tensor4d(Float32Array.from({ length: 2 * 32 * 32 * 3 }, () => rand() * 2 - 1), [2, 32, 32, 3]);
  labels = tf.tensor3d(Int32Array.from({ length: 2 * 32 * 32 }, (_, i) => (rand() < (i < 1024 ? 0.05 : 0.4) ? 255 : Math.floor(rand() * 3))), [2, 32, 32], 'int32');
});

afterAll(() => tf.dispose([images, labels]));

/** Trains a fresh seeded model 3 steps, in this thread or on two; returns the losses and final weights. */
async function train(twoCores: boolean): Promise<{ losses: number[]; weights: Float32Array[] }> {
  const model = buildModel(config, { seed: 5 });
  const optimizer = new Optimizer(opt);
  const dp = twoCores ? await DataParallel.start(model, config, optimizer, opt) : undefined;
  try {
    const losses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const lr = 0.05 * (1 - i / 3);
      losses.push(dp ? await dp.step(images, labels, lr, classWeights) : trainStep(model, optimizer, images, labels, lr, classWeights));
    }
    return { losses, weights: [...model.store.params.values()].map((p) => p.variable.dataSync() as Float32Array) };
  } finally {
    await dp?.close();
    model.dispose();
    optimizer.dispose();
  }
}

describe('data-parallel training on two cores', () => {
  it('weighs the halves by the counted pixels of the whole batch', () => {
    expect(labelWeight(Int32Array.from([0, 1, 255, 2, 7, -1]), 3, [1, 3, 1])).toBe(5);
    expect(labelWeight(Int32Array.from([0, 1, 255]), 3)).toBe(2);
  });

  it('refuses batch norm (its statistics would differ between the halves), and closes cleanly', async () => {
    const bn: ModelConfig = { ...config, norm: 'batch' };
    const model = buildModel(bn, { seed: 5 });
    const optimizer = new Optimizer(opt);
    const dp = await DataParallel.start(model, bn, optimizer, opt);
    try {
      await expect(dp.step(images, labels, 0.01)).rejects.toThrow(/group norm only/);
      // Nor a loss that does not split into halves.
      await expect(dp.step(images, labels, 0.01, undefined, 'crossentropy+lovasz')).rejects.toThrow(/crossentropy only/);
    } finally {
      await dp.close();
      model.dispose();
      optimizer.dispose();
    }
  }, 30_000);

  it('follows the one-thread step (same losses and weights up to rounding) and repeats exactly', async () => {
    const one = await train(false);
    const two = await train(true);
    expect(one.losses[2]).not.toBe(one.losses[0]);
    two.losses.forEach((l, i) => expect(Math.abs(l - one.losses[i]!)).toBeLessThanOrEqual(1e-4 * Math.abs(one.losses[i]!)));
    let worst = 0;
    let scale = 0;
    one.weights.forEach((w, k) => w.forEach((v, j) => {
      worst = Math.max(worst, Math.abs(v - two.weights[k]![j]!));
      scale = Math.max(scale, Math.abs(v));
    }));
    expect(worst / scale).toBeLessThan(1e-4);
    const again = await train(true);
    expect(again.losses).toEqual(two.losses);
    again.weights.forEach((w, k) => expect(w).toEqual(two.weights[k]));
  }, 60_000);
});
