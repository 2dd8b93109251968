import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { prodSetup } from '../../bench/prod-model.ts';
import { initBackends } from '../../bench/train-step-backends.ts';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { atrous, type Conv } from '../../stages/lib/tf/atrous.ts';
import { depthwise3x3 } from '../../stages/lib/tf-kernels/wasm-depthwise.ts';
import {
  adamStep, biasAct, convBiasAct, groupNormAct, registerFastCpuKernels, sgdMomentumStep, registerWasmTrainingKernels, softmaxCrossEntropy, trainsDilatedDepthwise,
  type FusedActivation,
} from '../../stages/lib/tf-kernels/index.ts';
import { composedSoftmaxCrossEntropy } from '../../stages/lib/tf/loss.ts';
import { expNonPositive } from '../../stages/lib/tf-kernels/softmax-ce.ts';

// Seeded so a failure reproduces.
let seed = 99;
function random(n: number, scale = 1, offset = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    out[i] = (seed / 2147483648 - 1) * scale + offset;
  }
  return out;
}

const EPS = 1e-5;

/** tfjs's own group norm + activation, composed from ops (what the models did before the kernel). */
function composed(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, act: FusedActivation): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const xg = tf.reshape(x, [n, h, w, groups, c / groups]);
  const { mean, variance } = tf.moments(xg, [1, 2, 4], true);
  const y = tf.add(tf.mul(tf.reshape(tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, EPS))), [n, h, w, c]), gamma), beta) as tf.Tensor4D;
  return act === 'relu' ? tf.relu(y) : act === 'relu6' ? tf.relu6(y) : y;
}

interface Out {
  y: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
}

/** Forward and gradients (of sum(y * weights)) on `backend`, fused or composed. */
function run(backend: string, fused: boolean, shape: [number, number, number, number], groups: number, act: FusedActivation, data: { x: Float32Array; gamma: Float32Array; beta: Float32Array; w: Float32Array }): Out {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(data.x, shape);
    const gamma = tf.tensor1d(data.gamma);
    const beta = tf.tensor1d(data.beta);
    const w = tf.tensor4d(data.w, shape);
    const f = (a: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor4D => {
      if (!fused) return composed(a, g, b, groups, act);
      const y = groupNormAct(a, g, b, { groups, epsilon: EPS, activation: act });
      if (!y) throw new Error(`no fused group norm on ${backend}`);
      return y;
    };
    const y = f(x, gamma, beta);
    const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D), w)))([x, gamma, beta]);
    return {
      y: y.dataSync() as Float32Array,
      dx: grads[0]!.dataSync() as Float32Array,
      dgamma: grads[1]!.dataSync() as Float32Array,
      dbeta: grads[2]!.dataSync() as Float32Array,
    };
  });
}

function expectClose(actual: Float32Array, expected: Float32Array, rel: number): void {
  expect(actual.length).toBe(expected.length);
  let scale = 1e-3;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst / scale).toBeLessThanOrEqual(rel);
}

/** Every field of `actual` close to `expected`'s: 1e-5 of the largest expected value unless `rel` says otherwise. */
function expectAllClose<T extends { [K in keyof T]: Float32Array }>(actual: T, expected: T, rel: Partial<Record<keyof T, number>> = {}): void {
  for (const k of Object.keys(expected) as (keyof T)[]) expectClose(actual[k], expected[k], rel[k] ?? 1e-5);
}

beforeAll(async () => {
  await initBackends();
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
  await tf.setBackend('cpu');
  registerFastCpuKernels();
});

describe('fused group norm kernels (wasm and cpu) against tfjs ops on the CPU backend', () => {
  const cases: { shape: [number, number, number, number]; groups: number; offset: number }[] = [
    { shape: [2, 5, 7, 8], groups: 2, offset: 0 },
    { shape: [1, 9, 4, 12], groups: 3, offset: 3 },
    { shape: [3, 4, 4, 32], groups: 8, offset: -1 },
    { shape: [2, 16, 16, 96], groups: 24, offset: 0.5 },
    { shape: [2, 3, 3, 5], groups: 1, offset: 0 },
    { shape: [1, 1, 1, 64], groups: 16, offset: 0 },
  ];
  for (const act of ['linear', 'relu', 'relu6'] as const) {
    for (const { shape, groups, offset } of cases) {
      it(`${act}, x [${shape}], ${groups} groups`, () => {
        const size = shape.reduce((a, b) => a * b, 1);
        const c = shape[3];
        // Values large enough that relu6 clips some outputs at 6.
        const data = { x: random(size, 4, offset), gamma: random(c, 3, 1), beta: random(c, 2, 0.5), w: random(size) };
        const expected = run('cpu', false, shape, groups, act, data);
        // dx is a difference of near-equal sums (its group means are zero).
        for (const backend of ['wasm', 'cpu']) expectAllClose(run(backend, true, shape, groups, act, data), expected, { dx: 2e-5 });
      });
    }
  }

  it('leaves no tensors behind and is not used where the backend lacks it', () => {
    tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.randomNormal([1, 4, 4, 8]) as tf.Tensor4D;
      const g = tf.ones([8]) as tf.Tensor1D;
      const b = tf.zeros([8]) as tf.Tensor1D;
      tf.grads((a: tf.Tensor) => tf.sum(groupNormAct(a as tf.Tensor4D, g, b, { groups: 2, epsilon: EPS, activation: 'relu' })!))([x])[0]!.dataSync();
    });
    expect(tf.memory().numTensors).toBe(before);
    // The fused kernel names no backend other than wasm and cpu.
    expect(tf.getKernel('PipeGroupNorm', 'tensorflow')).toBeUndefined();
  });
});

describe('Identity on wasm', () => {
  it('shares data with its input, and either can be disposed first', () => {
    tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const y = tf.engine().runKernel('Identity', { x }) as tf.Tensor;
    // No copy: the same data (the stock kernel makes a new one).
    expect(y.dataId).toBe(x.dataId);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // Gradients through saved tensors (Engine.clone runs Identity) still match the CPU backend.
    const f = (a: tf.Tensor) => tf.sum(tf.mul(tf.square(a), tf.exp(a)));
    const xs = [0.5, -1, 2, 0.25];
    const onWasm = tf.tidy(() => Array.from(tf.grad(f)(tf.tensor1d(xs)).dataSync()));
    tf.setBackend('cpu');
    const onCpu = tf.tidy(() => Array.from(tf.grad(f)(tf.tensor1d(xs)).dataSync()));
    onWasm.forEach((v, i) => expect(v).toBeCloseTo(onCpu[i]!, 5));
  });
});

describe('fused bias + activation kernels (wasm and cpu) against tfjs ops on the CPU backend', () => {
  const shapes: [number, number, number, number][] = [[2, 5, 7, 8], [1, 7, 5, 3], [2, 1, 1, 64], [2, 16, 16, 96]];
  for (const act of ['linear', 'relu', 'relu6'] as const) {
    for (const shape of shapes) {
      it(`${act}, x [${shape}]`, () => {
        const size = shape.reduce((a, b) => a * b, 1);
        const c = shape[3];
        const xs = random(size, 5, 1);
        const bs = random(c, 2);
        const ws = random(size);
        const go = (backend: string, fused: boolean) => {
          tf.setBackend(backend);
          return tf.tidy(() => {
            const f = (x: tf.Tensor, b: tf.Tensor): tf.Tensor => {
              if (fused) return biasAct(x, b as tf.Tensor1D, act)!;
              const y = tf.add(x, b);
              return act === 'relu' ? tf.relu(y) : act === 'relu6' ? tf.relu6(y) : y;
            };
            const x = tf.tensor4d(xs, shape);
            const b = tf.tensor1d(bs);
            const w = tf.tensor4d(ws, shape);
            const [dx, db] = tf.grads((a: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(a, bb), w)))([x, b]);
            return { y: f(x, b).dataSync() as Float32Array, dx: dx!.dataSync() as Float32Array, db: db!.dataSync() as Float32Array };
          });
        };
        const expected = go('cpu', false);
        for (const backend of ['wasm', 'cpu']) {
          const got = go(backend, true);
          expectClose(got.y, expected.y, 1e-6);
          expectClose(got.dx, expected.dx, 1e-6);
          expectClose(got.db, expected.db, 1e-5);
        }
      });
    }
  }
});

describe('fused conv + bias + activation (wasm and cpu) against tfjs ops on the CPU backend', () => {
  const cases: { x: [number, number, number, number]; k: number; cout: number; depthwise: boolean; stride: number; pad: 'same' | 'valid' }[] = [
    { x: [2, 6, 5, 8], k: 1, cout: 12, depthwise: false, stride: 1, pad: 'same' },
    { x: [2, 9, 8, 3], k: 3, cout: 16, depthwise: false, stride: 2, pad: 'same' },
    { x: [1, 7, 7, 5], k: 3, cout: 7, depthwise: false, stride: 1, pad: 'valid' },
    { x: [2, 1, 1, 20], k: 1, cout: 3, depthwise: false, stride: 1, pad: 'same' },
    // 1x1 stride 1 with output channels a multiple of 8: our GEMM on wasm (wasm-gemm.ts), with pixel counts
    // that leave 0, 1, 2 and 3 pixels after the 4-pixel tiles, inner sizes 1 to 40; the 1x1 input gradients
    // run it too where the input channels are a multiple of 8.
    { x: [2, 6, 5, 8], k: 1, cout: 16, depthwise: false, stride: 1, pad: 'same' },
    { x: [1, 3, 5, 7], k: 1, cout: 8, depthwise: false, stride: 1, pad: 'valid' },
    { x: [1, 1, 1, 1], k: 1, cout: 8, depthwise: false, stride: 1, pad: 'same' },
    { x: [2, 5, 3, 24], k: 1, cout: 24, depthwise: false, stride: 1, pad: 'same' },
    { x: [1, 7, 1, 40], k: 1, cout: 32, depthwise: false, stride: 1, pad: 'same' },
    { x: [2, 8, 8, 12], k: 3, cout: 12, depthwise: true, stride: 1, pad: 'same' },
    { x: [2, 9, 10, 16], k: 3, cout: 16, depthwise: true, stride: 2, pad: 'same' },
    { x: [1, 6, 6, 6], k: 3, cout: 6, depthwise: true, stride: 1, pad: 'valid' },
    // Large enough for our 3x3 depthwise loop on wasm (wasm-depthwise.ts), stride 1 and 2.
    { x: [1, 32, 30, 8], k: 3, cout: 8, depthwise: true, stride: 1, pad: 'same' },
    { x: [1, 40, 36, 4], k: 3, cout: 4, depthwise: true, stride: 2, pad: 'same' },
  ];
  for (const act of ['linear', 'relu', 'relu6'] as const) {
    for (const c of cases) {
      it(`${act}, ${c.depthwise ? 'depthwise' : 'conv'} ${c.k}x${c.k} stride ${c.stride} ${c.pad}, x [${c.x}] -> ${c.cout}`, () => {
        const fshape: [number, number, number, number] = [c.k, c.k, c.x[3], c.depthwise ? 1 : c.cout];
        const xs = random(c.x.reduce((a, b) => a * b, 1), 2, 0.3);
        // Weights large enough that relu6 clips some outputs at 6.
        const fs = random(fshape.reduce((a, b) => a * b, 1), 1.5);
        const bs = random(c.cout, 2, 0.5);
        const go = (backend: string, fused: boolean) => {
          tf.setBackend(backend);
          return tf.tidy(() => {
            const f = (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D => {
              if (fused) return convBiasAct(x, w, b, { depthwise: c.depthwise, strides: [c.stride, c.stride], pad: c.pad, activation: act })!;
              const z = tf.add(c.depthwise ? tf.depthwiseConv2d(x, w, c.stride, c.pad) : tf.conv2d(x, w, c.stride, c.pad), b) as tf.Tensor4D;
              return act === 'relu' ? tf.relu(z) : act === 'relu6' ? tf.relu6(z) : z;
            };
            const x = tf.tensor4d(xs, c.x);
            const w = tf.tensor4d(fs, fshape);
            const b = tf.tensor1d(bs);
            const y = f(x, w, b);
            const weights = tf.tensor(random(y.size), y.shape);
            const [dx, dw, db] = tf.grads((a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, ww as tf.Tensor4D, bb as tf.Tensor1D), weights)))([x, w, b]);
            return { y: y.dataSync() as Float32Array, dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array, db: db!.dataSync() as Float32Array };
          });
        };
        const seedBefore = seed;
        const expected = go('cpu', false);
        for (const backend of ['wasm', 'cpu']) {
          seed = seedBefore; // the same gradient weights
          expectAllClose(go(backend, true), expected);
        }
      });
    }
  }

  it('leaves no tensors behind and is not used where the backend lacks it', () => {
    tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.randomNormal([1, 4, 4, 8]) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 8, 4]) as tf.Tensor4D;
      const b = tf.zeros([4]) as tf.Tensor1D;
      const f = (a: tf.Tensor) => tf.sum(convBiasAct(a as tf.Tensor4D, w, b, { depthwise: false, strides: [1, 1], pad: 'same', activation: 'relu6' })!);
      tf.grads(f)([x])[0]!.dataSync();
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.getKernel('PipeConvBiasAct', 'tensorflow')).toBeUndefined();
  });
});

describe('atrous layers outside training: one dilated kernel', () => {
  for (const backend of ['wasm', 'cpu']) {
    for (const fused of [true, false]) {
      it(`${backend}, ${fused ? 'conv + bias + relu6' : 'plain'} depthwise and regular, rates 2 and 3: the space-to-batch route's values`, async () => {
        tf.setBackend(backend);
        for (const depthwise of [true, false]) {
          for (const rate of [2, 3]) {
            const x = tf.tensor4d(random(2 * 9 * 7 * 8, 2), [2, 9, 7, 8]);
            const w = tf.tensor4d(random(3 * 3 * 8 * (depthwise ? 1 : 8), 1), [3, 3, 8, depthwise ? 1 : 8]);
            const b = tf.tensor1d(random(8, 1));
            const conv: Conv = (a, f, pad, r = 1) =>
              fused
                ? convBiasAct(a, f, b, { depthwise, strides: [1, 1], pad, activation: 'relu6', ...(r > 1 ? { dilations: [r, r] as [number, number] } : {}) })!
                : depthwise ? tf.depthwiseConv2d(a, f, 1, pad, 'NHWC', r) : tf.conv2d(a, f, 1, pad, 'NHWC', r);
            // Outside a gradient: dilated, no space-to-batch.
            const off = await tf.profile(() => tf.tidy(() => atrous(x, w, rate, conv)));
            expect(off.kernelNames).not.toContain('SpaceToBatchND');
            const dilated = off.result as tf.Tensor4D;
            // Inside one (tf.valueAndGrad records the tape): space-to-batch, and the gradient exists.
            const { value } = tf.valueAndGrad((a: tf.Tensor) => tf.sum(atrous(a as tf.Tensor4D, w, rate, conv)))(x);
            const routed = tf.tidy(() => {
              let y: tf.Tensor4D | undefined;
              tf.grad((a: tf.Tensor) => tf.sum((y = tf.keep(atrous(a as tf.Tensor4D, w, rate, conv)))))(x).dispose();
              return y!;
            });
            expectClose(dilated.dataSync() as Float32Array, routed.dataSync() as Float32Array, 1e-5);
            tf.dispose([x, w, b, dilated, routed, value]);
          }
        }
      });
    }
  }

  it('a dilated conv + bias + activation refuses a gradient, but for depthwise layers on wasm', () => {
    const attempt = (backend: string, depthwise: boolean) => {
      tf.setBackend(backend);
      tf.tidy(() => {
        const w = tf.ones([3, 3, 4, depthwise ? 1 : 4]) as tf.Tensor4D;
        const b = tf.zeros([4]) as tf.Tensor1D;
        const f = (a: tf.Tensor) => tf.sum(convBiasAct(a as tf.Tensor4D, w, b, { depthwise, strides: [1, 1], pad: 'same', activation: 'linear', dilations: [2, 2] })!);
        tf.grad(f)(tf.ones([1, 5, 5, 4]));
      });
    };
    // tfjs's CPU depthwise input gradient ignores dilations.
    expect(() => attempt('cpu', true)).toThrow(/dilated/);
    expect(() => attempt('wasm', false)).toThrow(/dilated/);
    expect(() => attempt('wasm', true)).not.toThrow();
    tf.setBackend('cpu');
    expect(trainsDilatedDepthwise()).toBe(false);
    tf.setBackend('wasm');
    expect(trainsDilatedDepthwise()).toBe(true);
  });

  it("wasm trains dilated depthwise layers directly: the space-to-batch route's gradients", async () => {
    tf.setBackend('wasm');
    // Rate 2 on the trunk's 16x16 maps, ASPP's 6 and 12 (most taps in the padding).
    for (const [shape, rate] of [[[2, 9, 7, 8], 2], [[2, 16, 16, 8], 6], [[1, 16, 16, 4], 12]] as [[number, number, number, number], number][]) {
      for (const fused of [true, false]) {
        const c = shape[3];
        const x = tf.tensor4d(random(shape.reduce((a, v) => a * v, 1), 2), shape);
        const w = tf.tensor4d(random(9 * c, 1), [3, 3, c, 1]);
        const b = tf.tensor1d(random(c, 1));
        const weights = tf.tensor4d(random(shape.reduce((a, v) => a * v, 1), 1), shape);
        // Fused: conv + bias + relu6 (the trunk); plain: a zero bias, linear (ASPP, as layers.ts runs it).
        const convWith = (bias: tf.Tensor1D): Conv => (a, f, pad, r = 1) =>
          convBiasAct(a, f, fused ? bias : tf.zeros([c]), { depthwise: true, strides: [1, 1], pad, activation: fused ? 'relu6' : 'linear', ...(r > 1 ? { dilations: [r, r] as [number, number] } : {}) })!;
        // Gradients for x, the filter and (fused) the bias.
        const run = (direct: boolean) =>
          tf.grads((...t: tf.Tensor[]) =>
            tf.sum(tf.mul(atrous(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, rate, convWith((t[2] ?? b) as tf.Tensor1D), direct), weights)),
          )(fused ? [x, w, b] : [x, w]);
        const viaSpace = run(false);
        const profile = await tf.profile(() => run(true));
        expect(profile.kernelNames).not.toContain('SpaceToBatchND');
        const direct = profile.result as tf.Tensor[];
        for (let i = 0; i < (fused ? 3 : 2); i++) expectClose(direct[i]!.dataSync() as Float32Array, viaSpace[i]!.dataSync() as Float32Array, 1e-5);
        tf.dispose([x, w, b, weights, ...viaSpace, ...direct]);
      }
    }
  });
});

describe('the 3x3 depthwise loop on wasm against the CPU backend', () => {
  type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  const cases: { x: [number, number, number, number]; stride: number; rate: number; pad: Pad; act: FusedActivation; bias: boolean }[] = [
    { x: [2, 7, 6, 8], stride: 1, rate: 1, pad: 'same', act: 'relu6', bias: true },
    { x: [1, 9, 10, 12], stride: 2, rate: 1, pad: 'same', act: 'relu', bias: true },
    { x: [1, 8, 8, 4], stride: 1, rate: 1, pad: 'valid', act: 'linear', bias: false },
    { x: [2, 9, 7, 8], stride: 1, rate: 2, pad: 'same', act: 'linear', bias: true },
    { x: [1, 5, 5, 4], stride: 1, rate: 3, pad: 'same', act: 'relu6', bias: true },
    { x: [1, 6, 7, 4], stride: 2, rate: 1, pad: 'valid', act: 'linear', bias: true },
    { x: [1, 6, 5, 4], stride: 1, rate: 1, pad: [[0, 0], [1, 0], [0, 2], [0, 0]], act: 'linear', bias: false },
    { x: [1, 1, 1, 4], stride: 1, rate: 1, pad: 'same', act: 'relu', bias: true },
    // Dilations past the map (ASPP on small maps): most taps fall outside.
    { x: [2, 4, 5, 8], stride: 1, rate: 6, pad: 'same', act: 'linear', bias: false },
    { x: [1, 7, 6, 4], stride: 1, rate: 4, pad: 'same', act: 'relu', bias: true },
  ];
  for (const c of cases) {
    it(`x [${c.x}], stride ${c.stride}, rate ${c.rate}, ${JSON.stringify(c.pad)}, ${c.act}${c.bias ? '' : ', no bias'}`, () => {
      const xs = random(c.x.reduce((a, b) => a * b, 1), 2, 0.3);
      const fs = random(9 * c.x[3], 1.5);
      const bs = random(c.x[3], 2, 0.5);
      tf.setBackend('cpu');
      const expected = tf.tidy(() => {
        let z = tf.depthwiseConv2d(tf.tensor4d(xs, c.x), tf.tensor4d(fs, [3, 3, c.x[3], 1]), c.stride, c.pad, 'NHWC', c.rate) as tf.Tensor4D;
        if (c.bias) z = tf.add(z, tf.tensor1d(bs));
        return (c.act === 'relu' ? tf.relu(z) : c.act === 'relu6' ? tf.relu6(z) : z).dataSync() as Float32Array;
      });
      tf.setBackend('wasm');
      const backend = tf.backend() as unknown as BackendWasm;
      const before = tf.memory().numTensors;
      // minInterior 0: the row loop (dw3x3) however small the map; Infinity: tap by tap (dw3x3_taps).
      const run = (minInterior: number) =>
        tf.tidy(() => {
          const x = tf.tensor4d(xs, c.x);
          const w = tf.tensor4d(fs, [3, 3, c.x[3], 1]);
          const b = tf.tensor1d(bs);
          const info = depthwise3x3(backend, x, w, c.bias ? b : null, c.stride, c.rate, c.pad, c.act, undefined, minInterior);
          expect(info).toBeDefined();
          const y = tf.engine().makeTensorFromTensorInfo(info!);
          return y.dataSync() as Float32Array;
        });
      const got = run(0);
      expectClose(got, expected, 1e-5);
      // The same sums in the same order: equal to the bit.
      expect(run(Infinity)).toEqual(got);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('1x1 Conv2D on wasm through our GEMM', () => {
  const cases: { x: [number, number, number, number]; cout: number; stride: number; pad: 'same' | 'valid' | 'explicit' }[] = [
    { x: [2, 4, 4, 16], cout: 8, stride: 1, pad: 'same' },
    { x: [1, 5, 3, 9], cout: 24, stride: 1, pad: 'valid' },
    { x: [1, 3, 3, 8], cout: 16, stride: 1, pad: 'explicit' },
    // Not ours: the stock kernel (stride 2; 12 output channels).
    { x: [1, 6, 6, 8], cout: 8, stride: 2, pad: 'same' },
    { x: [1, 3, 3, 8], cout: 12, stride: 1, pad: 'same' },
  ];
  for (const c of cases) {
    it(`x [${c.x}] -> ${c.cout}, stride ${c.stride}, ${c.pad} padding: equal to the CPU backend`, () => {
      const xs = random(c.x.reduce((a, b) => a * b, 1), 2, 0.1);
      const fs = random(c.x[3] * c.cout, 1);
      const go = (backend: string) => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const pad = c.pad === 'explicit' ? ([[0, 0], [0, 0], [0, 0], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]) : c.pad;
          const y = tf.conv2d(tf.tensor4d(xs, c.x), tf.tensor4d(fs, [1, 1, c.x[3], c.cout]), c.stride, pad);
          return { y: y.dataSync() as Float32Array };
        });
      };
      const before = (tf.setBackend('wasm'), tf.memory().numTensors);
      expectAllClose(go('wasm'), go('cpu'));
      tf.setBackend('wasm');
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('the SGD update kernel (wasm and cpu)', () => {
  it.each([1, 7, 64, 1001])('equals tfjs ops to the bit, %i values, with and without decay', (n) => {
    const w = random(n, 0.5);
    const acc = random(n, 0.1);
    const g = random(n, 2);
    for (const decay of [true, false]) {
      const attrs = { momentum: 0.9, weightDecay: 5e-4, rate: 0.01 * 10, decay };
      const composed = (backend: string) => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const wt = tf.tensor1d(w);
          const g1 = decay ? tf.add(tf.tensor1d(g), tf.mul(wt, attrs.weightDecay)) : tf.tensor1d(g);
          const a = tf.add(tf.mul(tf.tensor1d(acc), attrs.momentum), g1);
          return { w: Array.from(tf.sub(wt, tf.mul(a, attrs.rate)).dataSync()), acc: Array.from(a.dataSync()) };
        });
      };
      const expected = composed('cpu');
      expect(composed('wasm')).toEqual(expected);
      for (const backend of ['wasm', 'cpu']) {
        tf.setBackend(backend);
        const got = tf.tidy(() => {
          const r = sgdMomentumStep(tf.tensor1d(w), tf.tensor1d(acc), tf.tensor1d(g), attrs)!;
          return { w: Array.from(r.w.dataSync()), acc: Array.from(r.acc.dataSync()) };
        });
        expect(got).toEqual(expected);
      }
    }
  });
});

describe('the Adam update kernel (wasm and cpu)', () => {
  it.each([1, 7, 64, 1001])('equals tfjs ops to the bit, %i values, with and without decay, early and late steps', (n) => {
    const w = random(n, 0.5);
    const m = random(n, 0.1);
    // Second moments are non-negative; some exactly 0, as at the first step.
    const v = random(n, 0.01).map((x, i) => (i % 5 === 0 ? 0 : Math.abs(x)));
    const g = random(n, 2);
    for (const [decay, t] of [[true, 1], [false, 1], [true, 500]] as const) {
      const b1 = 0.9;
      const b2 = 0.999;
      const rate = 0.003 * 10;
      const step = (rate * Math.sqrt(1 - Math.pow(b2, t))) / (1 - Math.pow(b1, t));
      const attrs = { beta1: b1, beta2: b2, epsilon: 1e-8, weightDecay: 5e-4, step, decay };
      const composed = (backend: string) => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const wt = tf.tensor1d(w);
          const g1 = decay ? tf.add(tf.tensor1d(g), tf.mul(wt, attrs.weightDecay)) : tf.tensor1d(g);
          const m1 = tf.add(tf.mul(tf.tensor1d(m), b1), tf.mul(g1, 1 - b1));
          const v1 = tf.add(tf.mul(tf.tensor1d(v), b2), tf.mul(tf.square(g1), 1 - b2));
          const w1 = tf.sub(wt, tf.div(tf.mul(m1, step), tf.add(tf.sqrt(v1), attrs.epsilon)));
          return { w: Array.from(w1.dataSync()), m: Array.from(m1.dataSync()), v: Array.from(v1.dataSync()) };
        });
      };
      const expected = composed('cpu');
      expect(composed('wasm')).toEqual(expected);
      for (const backend of ['wasm', 'cpu']) {
        tf.setBackend(backend);
        const got = tf.tidy(() => {
          const r = adamStep(tf.tensor1d(w), tf.tensor1d(m), tf.tensor1d(v), tf.tensor1d(g), attrs)!;
          return { w: Array.from(r.w.dataSync()), m: Array.from(r.m.dataSync()), v: Array.from(r.v.dataSync()) };
        });
        expect(got).toEqual(expected);
      }
    }
  });
});

describe('tiled Transpose on wasm', () => {
  const cases: [number[], number[]][] = [
    [[1024, 40], [1, 0]],
    [[37, 5], [1, 0]],
    [[300, 1, 1, 7], [3, 1, 2, 0]],
    [[2, 3, 4, 5], [2, 3, 0, 1]],
    [[2, 3, 4, 5], [3, 0, 1, 2]],
    [[2, 3, 4, 5], [1, 2, 0, 3]],
    [[2, 3, 4], [0, 2, 1]],
    [[1, 1], [1, 0]],
  ];
  it.each(cases)('x [%s] perm [%s] matches the CPU backend (float32 and int32)', (shape, perm) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = random(size, 100);
    const ints = Int32Array.from(values, (v) => Math.round(v));
    for (const [data, dtype] of [[values, 'float32'], [ints, 'int32']] as const) {
      const run = (backend: string) => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const t = tf.transpose(tf.tensor(data, shape, dtype), perm);
          return { shape: t.shape, values: Array.from(t.dataSync()) };
        });
      };
      expect(run('wasm')).toEqual(run('cpu'));
    }
  });
});

describe('the softmax cross-entropy kernel (wasm and cpu)', () => {
  // 2 x 5 x 7 pixels: labels in range, the ignore label, and out-of-range ones (weight 0).
  const shape: [number, number, number, number] = [2, 5, 7, 3];
  const pixels = 2 * 5 * 7;
  const z = random(pixels * 3, 4);
  const labelValues = Int32Array.from({ length: pixels }, (_, i) => [0, 1, 2, 255, 2, 1, -1, 3, 0][i % 9]!);
  /** Loss and d loss / d logits on `backend`, fused (our kernel) or composed from tfjs ops. */
  function lossAndGrad(backend: string, fused: boolean, labels: Int32Array, weights?: number[]): { loss: number; grad: Float32Array } {
    tf.setBackend(backend);
    return tf.tidy(() => {
      const lab = tf.tensor3d(labels, shape.slice(0, 3) as [number, number, number], 'int32');
      const f = (x: tf.Tensor) => (fused ? softmaxCrossEntropy(x as tf.Tensor4D, lab, weights) : composedSoftmaxCrossEntropy(x as tf.Tensor4D, lab, weights));
      const { value, grad } = tf.valueAndGrad(f as (x: tf.Tensor) => tf.Scalar)(tf.tensor4d(z, shape));
      return { loss: value.dataSync()[0]!, grad: grad.dataSync() as Float32Array };
    });
  }
  for (const weights of [undefined, [0.5, 2, 1.25]]) {
    it(`equals tfjs ops on the CPU backend, loss and gradient${weights ? ', with class weights' : ''}`, () => {
      const expected = lossAndGrad('cpu', false, labelValues, weights);
      for (const backend of ['wasm', 'cpu']) {
        const got = lossAndGrad(backend, true, labelValues, weights);
        expect(Math.abs(got.loss - expected.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(expected.loss));
        expectClose(got.grad, expected.grad, 1e-5);
      }
    });
  }

  it('is 0 with a zero gradient when every pixel is ignored, and leaves no tensors behind', () => {
    for (const backend of ['wasm', 'cpu']) {
      const before = tf.memory().numTensors;
      const got = lossAndGrad(backend, true, new Int32Array(pixels).fill(255));
      expect(got.loss).toBe(0);
      expect(got.grad.every((g) => g === 0)).toBe(true);
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('computes e^x for x <= 0 within 1e-8 of Math.exp, 0 below float32 range', () => {
    let worst = 0;
    for (let x = -87.3; x <= 0; x += 0.00731) worst = Math.max(worst, Math.abs(expNonPositive(x) / Math.exp(x) - 1));
    expect(worst).toBeLessThan(1e-8);
    expect(expNonPositive(0)).toBe(1);
    expect(expNonPositive(-100)).toBe(0);
  });

  it('is not used where the backend lacks it', () => {
    tf.setBackend('cpu');
    const config = tf.getKernel('PipeSoftmaxCE', 'cpu')!;
    tf.unregisterKernel('PipeSoftmaxCE', 'cpu');
    try {
      expect(softmaxCrossEntropy(tf.zeros([1, 1, 1, 2]), tf.zeros([1, 1, 1], 'int32'))).toBeUndefined();
    } finally {
      tf.registerKernel(config);
    }
  });
});

describe('the production model with the fused kernels', () => {
  /** Trains the train stage's default model for a few steps on `backend`; returns the losses. */
  function losses(backend: string, fused: boolean): number[] {
    tf.setBackend(backend);
    // Without our kernels registered the model composes tfjs ops (what tfjs-node runs).
    const removed = fused ? [] : ['PipeGroupNorm', 'PipeBiasAct', 'PipeConvBiasAct', 'PipeSoftmaxCE'].flatMap((k) => {
      const c = tf.getKernel(k, backend);
      if (c) tf.unregisterKernel(k, backend);
      return c ? [c] : [];
    });
    try {
      const setup = prodSetup(32, 2);
      try {
        return Array.from({ length: 4 }, () => setup.step());
      } finally {
        setup.dispose();
      }
    } finally {
      removed.forEach((c) => tf.registerKernel(c));
    }
  }

  it('follows the loss curve of the CPU backend with tfjs ops, and repeats exactly', () => {
    const reference = losses('cpu', false);
    const onWasm = losses('wasm', true);
    const onCpu = losses('cpu', true);
    expect(reference[3]).not.toBe(reference[0]);
    for (let i = 0; i < reference.length; i++) {
      expect(Math.abs(onWasm[i]! - reference[i]!)).toBeLessThanOrEqual(1e-3 * Math.abs(reference[i]!));
      expect(Math.abs(onCpu[i]! - reference[i]!)).toBeLessThanOrEqual(1e-3 * Math.abs(reference[i]!));
    }
    expect(losses('wasm', true)).toEqual(onWasm);
  }, 60_000);
});

describe('channel Concat and SplitV on wasm', () => {
  const cases: { shapes: number[][]; axis: number }[] = [
    { shapes: [[2, 4, 4, 8], [2, 4, 4, 3]], axis: 3 },
    { shapes: [[2, 4, 4, 8], [2, 4, 4, 3], [2, 4, 4, 1]], axis: -1 },
    { shapes: [[5, 2], [5, 7]], axis: 1 },
    { shapes: [[2, 3], [4, 3]], axis: 0 },
    { shapes: [[2, 4, 4, 8], [2, 4, 4, 8]], axis: 2 },
  ];
  it.each(cases)('concat $shapes on axis $axis, and the split back, match the CPU backend', ({ shapes, axis }) => {
    for (const dtype of ['float32', 'int32'] as const) {
      const data = shapes.map((s) => {
        const v = random(s.reduce((a, b) => a * b, 1), 50);
        return dtype === 'int32' ? Int32Array.from(v, (x) => Math.round(x)) : v;
      });
      const run = (backend: string) => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const c = tf.concat(data.map((d, i) => tf.tensor(d, shapes[i], dtype)), axis);
          const sizes = shapes.map((s) => s[axis < 0 ? s.length + axis : axis]!);
          const parts = tf.split(c, sizes, axis);
          return { shape: c.shape, values: Array.from(c.dataSync()), parts: parts.map((p) => [p.shape, Array.from(p.dataSync())]) };
        });
      };
      expect(run('wasm')).toEqual(run('cpu'));
    }
  });
});
