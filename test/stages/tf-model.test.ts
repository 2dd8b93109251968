import * as tf from '@tensorflow/tfjs-core';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../stages/lib/tf/backend.ts';
import { loadModel, saveModel } from '../../stages/lib/tf/io-handler.ts';
import { buildModel, type ModelConfig } from '../../stages/lib/tf/models/index.ts';
import { Optimizer } from '../../stages/lib/tf/optimizer.ts';
import { Rng } from '../../stages/lib/tf/rng.ts';
import { trainStep } from '../../stages/lib/tf/train-step.ts';
import { tempDir } from './tf-fixtures.ts';

const tiny: ModelConfig = { arch: 'deeplabv3plus', numClasses: 3, width: 0.25, outputStride: 16, norm: 'group', asppChannels: 8, decoderChannels: 8 };
const sgd = { kind: 'sgd' as const, momentum: 0.9, weightDecay: 5e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

function images(n: number, h: number, w: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(Float32Array.from({ length: n * h * w * 3 }, () => rng.uniform(-1, 1)), [n, h, w, 3]);
}

beforeAll(async () => {
  expect((await selectBackend('cpu', { training: true })).ok).toBe(true);
});

describe('models', () => {
  const cases: [string, Partial<ModelConfig>, number, number][] = [
    ['deeplabv3plus OS16', {}, 40, 36],
    ['deeplabv3plus OS8, batch norm', { outputStride: 8, norm: 'batch' }, 33, 47],
    ['deeplabv3plus, decoder at stride 2', { decoderStride: 2 }, 40, 36],
    ['deeplabv3plus, decoder at stride 1', { decoderStride: 1 }, 33, 47],
    ['largefov', { arch: 'largefov', outputStride: 8, width: 0.125 }, 36, 30],
  ];
  it.each(cases)('%s gives logits at input size', (_name, over, h, w) => {
    const m = buildModel({ ...tiny, ...over }, { seed: 1 });
    const y = m.logits(images(2, h, w, 1), false);
    expect(y.shape).toEqual([2, h, w, 3]);
    expect(m.classify(images(1, h, w, 2)).shape).toEqual([1, h, w]);
    expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
    m.dispose();
  });

  it('with flip, predicts the mirror image as the mirror of its prediction (without, it does not)', () => {
    const m = buildModel(tiny, { seed: 3 });
    const x = images(1, 40, 36, 4);
    const mirrored = (t: tf.Tensor3D) => Array.from(tf.reverse(t, 2).dataSync());
    const flipped = Array.from(m.classify(tf.reverse(x, 2), { flip: true }).dataSync());
    expect(flipped).toEqual(mirrored(m.classify(x, { flip: true })));
    // The net alone is not mirror-symmetric (strided convolutions): the check above can fail.
    expect(Array.from(m.classify(tf.reverse(x, 2)).dataSync())).not.toEqual(mirrored(m.classify(x)));
    m.dispose();
  });

  it('scores with flip are the mean of the logits of the image and of its mirror image mirrored back; classify is their argmax', () => {
    const m = buildModel(tiny, { seed: 3 });
    const x = images(1, 40, 36, 4);
    const a = m.logits(x, false).dataSync();
    const b = tf.reverse(m.logits(tf.reverse(x, 2), false), 2).dataSync();
    const s = m.scores(x, { flip: true }).dataSync();
    for (let i = 0; i < s.length; i += 97) expect(s[i]).toBeCloseTo((a[i]! + b[i]!) / 2, 5);
    expect(Array.from(m.scores(x).dataSync())).toEqual(Array.from(a));
    expect(Array.from(m.classify(x, { flip: true }).dataSync())).toEqual(Array.from(tf.argMax(m.scores(x, { flip: true }), 3).dataSync()));
    m.dispose();
  });

  it('is initialised deterministically from the seed', () => {
    const a = buildModel(tiny, { seed: 5 });
    const b = buildModel(tiny, { seed: 5 });
    const c = buildModel(tiny, { seed: 6 });
    const w = (m: typeof a): Float32Array => m.store.params.get('stem/w')!.variable.dataSync() as Float32Array;
    expect(Array.from(w(a))).toEqual(Array.from(w(b)));
    expect(Array.from(w(a))).not.toEqual(Array.from(w(c)));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('gives the classifier head x10 / x20 learning rates', () => {
    const m = buildModel(tiny, { seed: 1 });
    expect(m.store.params.get('classifier/w')).toMatchObject({ lrMult: 10, decay: true });
    expect(m.store.params.get('classifier/b')).toMatchObject({ lrMult: 20, decay: false });
    expect(m.store.params.get('stem/norm/gamma')).toMatchObject({ lrMult: 1, decay: false });
    m.dispose();
  });
});

describe('batch norm', () => {
  it('uses de-biased moving statistics in inference mode', () => {
    const m = buildModel({ ...tiny, norm: 'batch' }, { seed: 2 });
    const x = images(2, 32, 32, 3);
    const y = tf.zeros([2, 32, 32], 'int32') as tf.Tensor3D;
    const opt = new Optimizer(sgd);
    // lr 0: only the moving averages change.
    trainStep(m, opt, x, y, 0);
    expect(m.store.normUpdates).toBe(1);
    // After one update, de-biased moving stats equal the batch's own, so
    // inference reproduces training-mode logits on the same batch.
    const train = m.logits(x, true);
    const infer = m.logits(x, false);
    expect(tf.max(tf.abs(tf.sub(train, infer))).dataSync()[0]).toBeLessThan(1e-3);
    // ...and differ for another batch (inference does not use batch stats).
    const x2 = tf.mul(images(2, 32, 32, 4), 3) as tf.Tensor4D;
    expect(tf.max(tf.abs(tf.sub(m.logits(x2, true), m.logits(x2, false)))).dataSync()[0]).toBeGreaterThan(1e-3);
    opt.dispose();
    m.dispose();
  });
});

describe('model files', () => {
  it('a finer decoder adds its skip layers and keeps its stride through save and load', async () => {
    const names = (c: Partial<ModelConfig>) => {
      const m = buildModel({ ...tiny, ...c }, { seed: 1 });
      const n = [...m.store.params.keys()].filter((k) => k.startsWith('decoder/'));
      m.dispose();
      return n;
    };
    const four = names({});
    const two = names({ decoderStride: 2 });
    const one = names({ decoderStride: 1 });
    expect(four.some((n) => n.startsWith('decoder/fine') || n.startsWith('decoder/conv2'))).toBe(false);
    expect(two.filter((n) => !four.includes(n)).map((n) => n.split('/')[1])).toEqual(expect.arrayContaining(['fine', 'conv2']));
    expect(one.filter((n) => !two.includes(n)).map((n) => n.split('/')[1])).toEqual(expect.arrayContaining(['pixels', 'conv3']));
    const dir = path.join(await tempDir(), 'model');
    const m = buildModel({ ...tiny, decoderStride: 1 }, { seed: 4 });
    await saveModel(m, dir);
    const { model: back } = await loadModel(dir);
    expect(back.config.decoderStride).toBe(1);
    const x = images(1, 36, 44, 7);
    expect(Array.from(back.logits(x, false).dataSync())).toEqual(Array.from(m.logits(x, false).dataSync()));
    [m, back].forEach((v) => v.dispose());
  });

  it('round-trip through model.json + weights.bin with identical predictions', async () => {
    const dir = path.join(await tempDir(), 'model');
    const m = buildModel({ ...tiny, norm: 'batch' }, { seed: 3 });
    const opt = new Optimizer(sgd);
    trainStep(m, opt, images(2, 32, 32, 5), tf.ones([2, 32, 32], 'int32') as tf.Tensor3D, 0.01);
    await saveModel(m, dir);
    const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.modelTopology.config).toEqual({ ...tiny, norm: 'batch' });
    const { model: back } = await loadModel(dir);
    expect(back.store.normUpdates).toBe(1);
    const x = images(1, 40, 28, 6);
    expect(Array.from(back.logits(x, false).dataSync())).toEqual(Array.from(m.logits(x, false).dataSync()));
    [m, back].forEach((v) => v.dispose());
    opt.dispose();
  });

  it('refuses a folder that is not a saved model', async () => {
    await expect(loadModel(await tempDir())).rejects.toThrow(/cannot read a model/);
  });
});

describe('training step', () => {
  it('leaks no tensors across steps', () => {
    const m = buildModel({ ...tiny, norm: 'batch' }, { seed: 4 });
    const opt = new Optimizer({ ...sgd, kind: 'adam' });
    const x = images(2, 32, 32, 7);
    const y = tf.ones([2, 32, 32], 'int32') as tf.Tensor3D;
    trainStep(m, opt, x, y, 0.01); // warm-up: creates optimiser slots
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) trainStep(m, opt, x, y, 0.01, [1, 2, 3]);
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    m.dispose();
  });
});

describe('backends', () => {
  it('runs inference on the WebAssembly backend, matching the CPU backend', async () => {
    const m = buildModel(tiny, { seed: 8 });
    const x = images(1, 32, 32, 9);
    const cpu = Array.from(m.logits(x, false).dataSync());
    const r = await selectBackend('wasm', { training: false });
    try {
      expect(r.ok && r.value.name).toBe('wasm');
      expect(tf.getBackend()).toBe('wasm');
      const wasm = Array.from(m.logits(x, false).dataSync());
      const diff = Math.max(...wasm.map((v, i) => Math.abs(v - cpu[i]!)));
      expect(diff).toBeLessThan(1e-3);
    } finally {
      await selectBackend('cpu', { training: true });
      m.dispose();
    }
  });

  it('fails clearly when a forced backend is missing', async () => {
    const r = await selectBackend('tensorflow', { training: false });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('backend-missing');
      expect(r.error.message).toMatch(/tfjs-node/);
    }
    await selectBackend('cpu', { training: true });
  });

  it('auto picks a backend that can train, and says which', async () => {
    const logs: string[] = [];
    const r = await selectBackend('auto', { training: true, log: (l) => logs.push(l) });
    expect(r.ok).toBe(true);
    expect(logs.join('\n')).toMatch(/tfjs backend: (wasm|cpu)/);
    // Whatever was picked must really train a step.
    const m = buildModel(tiny, { seed: 1 });
    const opt = new Optimizer(sgd);
    expect(Number.isFinite(trainStep(m, opt, images(1, 32, 32, 1), tf.zeros([1, 32, 32], 'int32') as tf.Tensor3D, 0.01))).toBe(true);
    opt.dispose();
    m.dispose();
    await selectBackend('cpu', { training: true });
  });
});
