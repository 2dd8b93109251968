import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { atrousConv2d, atrousDepthwiseConv2d } from '../../stages/lib/tf/atrous.ts';
import { selectBackend } from '../../stages/lib/tf/backend.ts';
import { Rng } from '../../stages/lib/tf/rng.ts';

function randn(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

beforeAll(async () => {
  const r = await selectBackend('cpu', { training: true });
  expect(r.ok).toBe(true);
});

describe('atrous convolution', () => {
  // Odd sizes and rates that do and do not divide them, plus rate >= size (the 1x1 shortcut).
  const cases: [h: number, w: number, k: number, rate: number][] = [
    [9, 7, 3, 2],
    [8, 8, 3, 3],
    [10, 6, 3, 4],
    [5, 5, 3, 6],
    [7, 9, 2, 2],
    [6, 6, 1, 3],
  ];

  it.each(cases)('conv2d %ix%i, kernel %i, rate %i equals tf.conv2d with dilations', (h, w, k, rate) => {
    const x = randn([2, h, w, 3], 1) as tf.Tensor4D;
    const f = randn([k, k, 3, 4], 2) as tf.Tensor4D;
    const want = tf.conv2d(x, f, 1, 'same', 'NHWC', rate);
    const got = atrousConv2d(x, f, rate);
    expect(got.shape).toEqual(want.shape);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
  });

  it.each(cases)('depthwise %ix%i, kernel %i, rate %i equals tf.depthwiseConv2d with dilations', (h, w, k, rate) => {
    const x = randn([1, h, w, 3], 3) as tf.Tensor4D;
    const f = randn([k, k, 3, 1], 4) as tf.Tensor4D;
    const want = tf.depthwiseConv2d(x, f, 1, 'same', 'NHWC', rate);
    const got = atrousDepthwiseConv2d(x, f, rate);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
  });

  it('tf.conv2d itself refuses the gradient at rate 2 (why atrous.ts exists)', () => {
    const x = randn([1, 6, 6, 1], 5) as tf.Tensor4D;
    const f = randn([3, 3, 1, 1], 6) as tf.Tensor4D;
    expect(() => tf.grad((v: tf.Tensor) => tf.sum(tf.conv2d(v as tf.Tensor4D, f, 1, 'same', 'NHWC', 2)))(x)).toThrow();
  });

  for (const kind of ['conv2d', 'depthwise'] as const) {
    it(`${kind} gradients match central finite differences`, () => {
      const op = kind === 'conv2d' ? atrousConv2d : atrousDepthwiseConv2d;
      const x = randn([1, 7, 6, 2], 7) as tf.Tensor4D;
      const f = randn(kind === 'conv2d' ? [3, 3, 2, 3] : [3, 3, 2, 1], 8) as tf.Tensor4D;
      const outC = kind === 'conv2d' ? 3 : 2;
      const weights = randn([1, 7, 6, outC], 9);
      // A scalar that depends on every output, with distinct weights per output.
      const loss = (a: tf.Tensor4D, b: tf.Tensor4D): tf.Scalar => tf.sum(tf.mul(op(a, b, 2), weights));
      const [gx, gf] = tf.grads(loss as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor)([x, f]);
      const eps = 1e-2;
      const check = (t: tf.Tensor4D, g: tf.Tensor, which: 0 | 1): void => {
        const base = t.dataSync();
        const grad = g.dataSync();
        // Every 5th entry keeps the test fast and still covers all phases of the rate-2 grid.
        for (let i = 0; i < base.length; i += 5) {
          const plus = Float32Array.from(base);
          const minus = Float32Array.from(base);
          plus[i]! += eps;
          minus[i]! -= eps;
          const lp = tf.tidy(() => loss(which === 0 ? tf.tensor4d(plus, t.shape) : x, which === 1 ? tf.tensor4d(plus, t.shape) : f).dataSync()[0]!);
          const lm = tf.tidy(() => loss(which === 0 ? tf.tensor4d(minus, t.shape) : x, which === 1 ? tf.tensor4d(minus, t.shape) : f).dataSync()[0]!);
          const fd = (lp - lm) / (2 * eps);
          expect(Math.abs(fd - grad[i]!)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
        }
      };
      check(x, gx!, 0);
      check(f, gf!, 1);
    });
  }
});
