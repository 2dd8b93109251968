import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackends } from '../../bench/train-step-backends.ts';
import { SegNet, syntheticBatch } from '../../bench/train-step-model.ts';
import {
  registerFastCpuKernels,
  registerWasmTrainingKernels,
  wasmThreadingSupported,
} from '../../stages/lib/tf-kernels/index.ts';
import { filterGradAxis, inputGradAxis } from '../../stages/lib/tf-kernels/conv-geometry.ts';

type Pad = 'same' | 'valid' | number[][];
type Arr = Float32Array;

// Seeded so a failure reproduces.
let seed = 12345;
function random(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    out[i] = seed / 2147483648 - 1;
  }
  return out;
}

const stock = new Map<string, tf.KernelConfig>();
const CPU_KERNEL = 'Conv2DBackpropFilter';

/** Runs one kernel on a backend with fresh tensors; returns values and shape, leaving no tensors behind. */
function runKernel(backend: string, name: string, inputs: Record<string, [number[], Arr]>, attrs: object) {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const ins: Record<string, tf.Tensor> = {};
    for (const [k, [shape, values]] of Object.entries(inputs)) ins[k] = tf.tensor(values, shape);
    const out = tf.engine().runKernel(name, ins, attrs as tf.NamedAttrMap) as tf.Tensor;
    return { values: out.dataSync() as Arr, shape: out.shape };
  });
}

/** Runs `f` with tfjs's stock CPU kernels in place of ours. */
function withStockCpu<T>(f: () => T): T {
  const swapped: tf.KernelConfig[] = [];
  for (const [name, original] of stock) {
    const ours = tf.getKernel(name, 'cpu');
    if (ours === original) continue;
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel(original);
    swapped.push(ours);
  }
  try {
    return f();
  } finally {
    for (const ours of swapped) {
      tf.unregisterKernel(ours.kernelName, 'cpu');
      tf.registerKernel(ours);
    }
  }
}

/** The CPU backend's own result, with tfjs's stock kernel even if ours is registered. */
function stockCpu(name: string, inputs: Record<string, [number[], Arr]>, attrs: object) {
  return withStockCpu(() => runKernel('cpu', name, inputs, attrs));
}

function maxAbsDiff(a: Arr, b: Arr): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function expectClose(actual: { values: Arr; shape: number[] }, expected: { values: Arr; shape: number[] }): void {
  expect(actual.shape).toEqual(expected.shape);
  let scale = 1;
  for (const v of expected.values) scale = Math.max(scale, Math.abs(v));
  // Sums of at most a few hundred float32 products: 1e-5 of the largest value is well within rounding.
  expect(maxAbsDiff(actual.values, expected.values)).toBeLessThanOrEqual(1e-5 * scale);
}

interface Case {
  n: number;
  h: number;
  w: number;
  c: number;
  k: [number, number];
  s: [number, number];
  pad: Pad;
}

const cases: Case[] = [
  { n: 2, h: 9, w: 7, c: 3, k: [3, 3], s: [1, 1], pad: 'same' },
  { n: 2, h: 9, w: 7, c: 3, k: [3, 3], s: [2, 2], pad: 'same' },
  { n: 1, h: 8, w: 8, c: 4, k: [3, 3], s: [2, 2], pad: 'same' },
  { n: 3, h: 11, w: 10, c: 5, k: [3, 3], s: [2, 1], pad: 'valid' },
  { n: 2, h: 10, w: 13, c: 2, k: [5, 3], s: [3, 3], pad: 'valid' },
  { n: 2, h: 7, w: 7, c: 2, k: [3, 3], s: [3, 3], pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  { n: 1, h: 6, w: 9, c: 3, k: [2, 4], s: [1, 2], pad: [[0, 0], [0, 0], [3, 1], [0, 0]] },
  { n: 2, h: 8, w: 8, c: 4, k: [1, 1], s: [1, 1], pad: 'same' },
  { n: 2, h: 9, w: 9, c: 4, k: [1, 1], s: [2, 2], pad: 'valid' },
  { n: 2, h: 5, w: 5, c: 6, k: [1, 1], s: [1, 1], pad: [[0, 0], [1, 1], [0, 1], [0, 0]] },
  // Channels a multiple of 4: the wasm backend's SIMD loops (depthwise filter gradient).
  { n: 2, h: 10, w: 13, c: 8, k: [5, 3], s: [3, 3], pad: 'valid' },
  { n: 2, h: 7, w: 7, c: 12, k: [3, 3], s: [3, 3], pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  { n: 2, h: 17, w: 16, c: 16, k: [3, 3], s: [2, 2], pad: 'same' },
  { n: 1, h: 9, w: 9, c: 20, k: [3, 3], s: [1, 1], pad: 'same' },
  // 1x1 stride 1, input channels a multiple of 4: the pointwise filter-gradient tiles on wasm
  // (with 8 output channels), 130 and 201 pixels (blocks of 64 and a remainder).
  { n: 1, h: 10, w: 13, c: 12, k: [1, 1], s: [1, 1], pad: 'valid' },
  { n: 3, h: 67, w: 1, c: 8, k: [1, 1], s: [1, 1], pad: 'same' },
  // Input channels a multiple of 8: the 1x1 input gradient on wasm is one GEMM with the
  // filter packed from its transpose (35 pixels: 8 tiles of 4 and a remainder of 3).
  { n: 1, h: 5, w: 7, c: 24, k: [1, 1], s: [1, 1], pad: 'valid' },
];

const label = (c: Case) => `${c.n}x${c.h}x${c.w}x${c.c} k${c.k} s${c.s} pad ${JSON.stringify(c.pad)}`;

beforeAll(async () => {
  await initBackends();
  for (const name of [CPU_KERNEL, 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'Conv2DBackpropInput']) {
    stock.set(name, tf.getKernel(name, 'cpu'));
  }
  registerWasmTrainingKernels();
  registerFastCpuKernels();
});

describe('conv geometry', () => {
  it('lays out the input for a filter gradient', () => {
    // 'same' 3x3 stride 2 on 128: pad 0 before, 1 after; the forward conv sees 3 taps.
    expect(filterGradAxis(128, 0, 64, 2, 3, 1)).toEqual({ padBefore: 0, padAfter: 1, keep: 128 });
    // 'valid' 1x1 stride 2 on 8: the last row is never read.
    expect(filterGradAxis(8, 0, 4, 2, 1, 1)).toEqual({ padBefore: 0, padAfter: 0, keep: 7 });
    // Padding alone would cover every tap: no layout.
    expect(filterGradAxis(2, 9, 1, 1, 3, 1)).toBeNull();
    expect(inputGradAxis(9, 1, 3, 1)).toEqual({ offset: 1, length: 11 });
  });
});

describe('Conv2DBackpropFilter / Conv2DBackpropInput', () => {
  // 8 output channels: the wasm backend's SIMD loops (a multiple of 4; 1x1 layers: of 8); 6: XNNPACK.
  // 24 on the 1x1 cases: three 8-channel tiles.
  for (const c of cases) {
    for (const co of c.k[0] === 1 && c.k[1] === 1 ? [6, 8, 24] : [6, 8]) it(`match the CPU backend: ${label(c)} -> ${co}`, () => {
      const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.c], [...c.k, c.c, co], c.s, 1, c.pad as 'same');
      const yShape = [c.n, info.outHeight, info.outWidth, co];
      const x = random(c.n * c.h * c.w * c.c);
      // ReLU-like zeros (the SIMD loop skips them).
      for (let i = 0; i < x.length; i += 3) x[i] = 0;
      const dy = random(yShape.reduce((a, b) => a * b, 1));
      const filter = random(c.k[0] * c.k[1] * c.c * co);
      const fAttrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: [...c.k, c.c, co] };
      const fIn: Record<string, [number[], Arr]> = { x: [[c.n, c.h, c.w, c.c], x], dy: [yShape, dy] };
      const ref = stockCpu(CPU_KERNEL, fIn, fAttrs);
      expectClose(runKernel('wasm', CPU_KERNEL, fIn, fAttrs), ref);
      expectClose(runKernel('cpu', CPU_KERNEL, fIn, fAttrs), ref);

      const iAttrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', inputShape: [c.n, c.h, c.w, c.c] };
      const iIn: Record<string, [number[], Arr]> = { dy: [yShape, dy], filter: [[...c.k, c.c, co], filter] };
      expectClose(runKernel('wasm', 'Conv2DBackpropInput', iIn, iAttrs), stockCpu('Conv2DBackpropInput', iIn, iAttrs));
    });
  }

  it('match the CPU backend for channels-first data', () => {
    const [n, c, h, w, co] = [2, 3, 7, 6, 4];
    const x = random(n * c * h * w);
    const info = tf.backend_util.computeConv2DInfo([n, c, h, w], [3, 3, c, co], 2, 1, 'same', undefined, false, 'channelsFirst');
    const yShape = [n, co, info.outHeight, info.outWidth];
    const dy = random(yShape.reduce((a, b) => a * b, 1));
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, c, co] };
    const inputs: Record<string, [number[], Arr]> = { x: [[n, c, h, w], x], dy: [yShape, dy] };
    const ref = stockCpu(CPU_KERNEL, inputs, attrs);
    expectClose(runKernel('wasm', CPU_KERNEL, inputs, attrs), ref);
    expectClose(runKernel('cpu', CPU_KERNEL, inputs, attrs), ref);
    const filter = random(9 * c * co);
    const iAttrs = { strides: 2, pad: 'same', dataFormat: 'NCHW', inputShape: [n, c, h, w] };
    const iIn: Record<string, [number[], Arr]> = { dy: [yShape, dy], filter: [[3, 3, c, co], filter] };
    expectClose(runKernel('wasm', 'Conv2DBackpropInput', iIn, iAttrs), stockCpu('Conv2DBackpropInput', iIn, iAttrs));
  });
});

/** Depthwise gradients straight from the definition, dilation included (the CPU backend's filter gradient ignores dilation). */
function depthwiseReference(x: Arr, dy: Arr, filter: Arr, c: Case, m: number, d: [number, number]) {
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.c], [...c.k, c.c, m], c.s, d, c.pad as 'same', undefined, true);
  const dW = new Float32Array(c.k[0] * c.k[1] * c.c * m);
  const dX = new Float32Array(c.n * c.h * c.w * c.c);
  const co = c.c * m;
  for (let b = 0; b < c.n; b++)
    for (let oy = 0; oy < info.outHeight; oy++)
      for (let ox = 0; ox < info.outWidth; ox++)
        for (let i = 0; i < c.k[0]; i++)
          for (let j = 0; j < c.k[1]; j++) {
            const iy = oy * c.s[0] + i * d[0] - info.padInfo.top;
            const ix = ox * c.s[1] + j * d[1] - info.padInfo.left;
            if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
            for (let ch = 0; ch < c.c; ch++)
              for (let k = 0; k < m; k++) {
                const g = dy[((b * info.outHeight + oy) * info.outWidth + ox) * co + ch * m + k]!;
                const xi = ((b * c.h + iy) * c.w + ix) * c.c + ch;
                const wi = ((i * c.k[1] + j) * c.c + ch) * m + k;
                dW[wi]! += x[xi]! * g;
                dX[xi]! += filter[wi]! * g;
              }
          }
  return {
    dW: { values: dW, shape: [...c.k, c.c, m] },
    dX: { values: dX, shape: [c.n, c.h, c.w, c.c] },
    yShape: [c.n, info.outHeight, info.outWidth, co],
  };
}

describe('DepthwiseConv2dNative gradients', () => {
  const variants: Array<{ m: number; d: [number, number] }> = [
    { m: 1, d: [1, 1] },
    { m: 2, d: [1, 1] },
  ];
  for (const c of cases) {
    for (const { m, d } of variants) {
      it(`match the CPU backend: ${label(c)} multiplier ${m}`, () => {
        const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.c], [...c.k, c.c, m], c.s, d, c.pad as 'same', undefined, true);
        const yShape = [c.n, info.outHeight, info.outWidth, c.c * m];
        const x = random(c.n * c.h * c.w * c.c);
        const dy = random(yShape.reduce((a, b) => a * b, 1));
        const filter = random(c.k[0] * c.k[1] * c.c * m);
        const fAttrs = { strides: c.s, pad: c.pad, dilations: d, filterShape: [...c.k, c.c, m] };
        const fIn: Record<string, [number[], Arr]> = { x: [[c.n, c.h, c.w, c.c], x], dy: [yShape, dy] };
        const ref = stockCpu('DepthwiseConv2dNativeBackpropFilter', fIn, fAttrs);
        expectClose(runKernel('wasm', 'DepthwiseConv2dNativeBackpropFilter', fIn, fAttrs), ref);
        expectClose(runKernel('cpu', 'DepthwiseConv2dNativeBackpropFilter', fIn, fAttrs), ref);
        const iAttrs = { strides: c.s, pad: c.pad, dilations: d, inputShape: [c.n, c.h, c.w, c.c] };
        const iIn: Record<string, [number[], Arr]> = { dy: [yShape, dy], filter: [[...c.k, c.c, m], filter] };
        expectClose(runKernel('wasm', 'DepthwiseConv2dNativeBackpropInput', iIn, iAttrs), stockCpu('DepthwiseConv2dNativeBackpropInput', iIn, iAttrs));
      });
    }
  }

  const dilated: (Case & { d?: [number, number] })[] = [
    { n: 2, h: 9, w: 8, c: 3, k: [3, 3], s: [1, 1], pad: 'same' },
    { n: 1, h: 11, w: 9, c: 2, k: [3, 2], s: [1, 1], pad: 'valid' },
    { n: 2, h: 10, w: 10, c: 3, k: [3, 3], s: [1, 1], pad: [[0, 0], [1, 3], [2, 0], [0, 0]] },
    // Channels a multiple of 4, equal dilations: the SIMD filter gradient and the 3x3 loops
    // (the trunk's rate-2 layers and ASPP's rates on small maps, trained without space-to-batch).
    { n: 2, h: 9, w: 8, c: 8, k: [3, 3], s: [1, 1], pad: 'same', d: [2, 2] },
    { n: 2, h: 6, w: 7, c: 4, k: [3, 3], s: [1, 1], pad: 'same', d: [6, 6] },
  ];
  for (const c of dilated) {
    const d: [number, number] = c.d ?? [2, 3];
    for (const m of [1, 2]) {
      it(`match the definition with dilation ${d[0]}x${d[1]}: ${label(c)} multiplier ${m}`, () => {
        const x = random(c.n * c.h * c.w * c.c);
        const filter = random(c.k[0] * c.k[1] * c.c * m);
        const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.c], [...c.k, c.c, m], c.s, d, c.pad as 'same', undefined, true);
        const dy = random(c.n * info.outHeight * info.outWidth * c.c * m);
        const ref = depthwiseReference(x, dy, filter, c, m, d);
        const fAttrs = { strides: c.s, pad: c.pad, dilations: d, filterShape: [...c.k, c.c, m] };
        const fIn: Record<string, [number[], Arr]> = { x: [[c.n, c.h, c.w, c.c], x], dy: [ref.yShape, dy] };
        expectClose(runKernel('wasm', 'DepthwiseConv2dNativeBackpropFilter', fIn, fAttrs), ref.dW);
        expectClose(runKernel('cpu', 'DepthwiseConv2dNativeBackpropFilter', fIn, fAttrs), ref.dW);
        const iAttrs = { strides: c.s, pad: c.pad, dilations: d, inputShape: [c.n, c.h, c.w, c.c] };
        expectClose(runKernel('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy: [ref.yShape, dy], filter: [[...c.k, c.c, m], filter] }, iAttrs), ref.dX);
      });
    }
  }
});

describe('SpaceToBatchND / BatchToSpaceND', () => {
  const shapes: Array<{ shape: number[]; block: number[]; pads: number[][] }> = [
    { shape: [2, 16, 16, 5], block: [2, 2], pads: [[0, 0], [0, 0]] },
    { shape: [1, 7, 9, 3], block: [3, 2], pads: [[1, 1], [0, 1]] },
    { shape: [2, 5, 5, 4], block: [6, 6], pads: [[0, 1], [1, 0]] },
    { shape: [3, 6, 4], block: [2], pads: [[1, 1]] },
  ];
  for (const { shape, block, pads } of shapes) {
    it(`match the CPU backend: ${JSON.stringify(shape)} block ${block} pads ${JSON.stringify(pads)}`, () => {
      const x = random(shape.reduce((a, b) => a * b, 1));
      const attrs = { blockShape: block, paddings: pads };
      const ref = stockCpu('SpaceToBatchND', { x: [shape, x] }, attrs);
      expectClose(runKernel('wasm', 'SpaceToBatchND', { x: [shape, x] }, attrs), ref);
      const back = { blockShape: block, crops: pads };
      const refBack = stockCpu('BatchToSpaceND', { x: [ref.shape, ref.values] }, back);
      expectClose(runKernel('wasm', 'BatchToSpaceND', { x: [ref.shape, ref.values] }, back), refBack);
      expect(refBack.shape).toEqual(shape);
    });
  }

  it('keep int32 values', () => {
    tf.setBackend('wasm');
    const x = tf.tensor4d(Int32Array.from({ length: 2 * 4 * 4 }, (_, i) => i), [2, 4, 4, 1], 'int32');
    const folded = tf.spaceToBatchND(x, [2, 2], [[0, 0], [0, 0]]);
    const back = tf.batchToSpaceND(folded, [2, 2], [[0, 0], [0, 0]]);
    expect(back.dtype).toBe('int32');
    expect(Array.from(back.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(Array.from(folded.dataSync()).slice(0, 4)).toEqual([0, 2, 8, 10]);
    tf.dispose([x, folded, back]);
  });
});

describe('registration', () => {
  it('is idempotent and quiet', () => {
    const warn = vi.spyOn(console, 'warn');
    const before = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'].map((k) => tf.getKernel(k, 'wasm'));
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    registerFastCpuKernels();
    registerFastCpuKernels();
    const after = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'].map((k) => tf.getKernel(k, 'wasm'));
    expect(after).toEqual(before);
    expect(tf.getKernel(CPU_KERNEL, 'cpu')).not.toBe(stock.get(CPU_KERNEL));
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropFilter', 'cpu')).not.toBe(stock.get('DepthwiseConv2dNativeBackpropFilter'));
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('leaves no tensors or backend buffers behind', () => {
    tf.setBackend('wasm');
    const backend = tf.backend();
    const x = tf.tensor(random(2 * 9 * 9 * 4), [2, 9, 9, 4]);
    const dy = tf.tensor(random(2 * 5 * 5 * 6), [2, 5, 5, 6]);
    const ddy = tf.tensor(random(2 * 5 * 5 * 8), [2, 5, 5, 8]);
    const w = tf.tensor(random(3 * 3 * 4 * 6), [3, 3, 4, 6]);
    const dw = tf.tensor(random(3 * 3 * 4 * 2), [3, 3, 4, 2]);
    const calls = () => {
      const outs = [
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 4, 6] }),
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 2, pad: 'valid', dataFormat: 'NHWC', filterShape: [1, 1, 4, 6] }),
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [2, 9, 9, 4] }),
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy: ddy }, { strides: 2, pad: 'same', dilations: 1, filterShape: [3, 3, 4, 2] }),
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: ddy, filter: dw }, { strides: 2, pad: 'same', dilations: 1, inputShape: [2, 9, 9, 4] }),
      ] as tf.Tensor[];
      for (const o of outs) o.dispose();
    };
    calls();
    const tensors = tf.memory().numTensors;
    const buffers = backend.numDataIds();
    for (let i = 0; i < 5; i++) calls();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(buffers);
    tf.dispose([x, dy, ddy, w, dw]);
  });
});

/** Trains a tiny DeepLab-like net for a few SGD steps on one backend; returns the losses. */
function lossCurve(backend: string, steps: number): number[] {
  tf.setBackend(backend);
  const net = new SegNet({
    width: 0.25,
    headChannels: 16,
    rates: [2, 3, 4],
    classes: 3,
    stages: [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 1, 2], [6, 32, 1, 1]],
    maxPool: true,
  }, 3).build(2, 32);
  const { images, labels } = syntheticBatch(2, 32, 3, 5);
  const opt = tf.train.sgd(0.05);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const loss = opt.minimize(() => net.loss(images, labels), true) as tf.Scalar;
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
  }
  tf.dispose([images, labels, ...net.variables]);
  opt.dispose();
  return losses;
}

describe('training', () => {
  it('follows the CPU backend loss curve on wasm and with the fast CPU kernel', () => {
    const steps = 4;
    const cpuFast = lossCurve('cpu', steps);
    const cpuStock = withStockCpu(() => lossCurve('cpu', steps));
    const before = tf.memory().numTensors;
    const wasm = lossCurve('wasm', steps);
    expect(tf.memory().numTensors).toBe(before);
    // The net learns, so a wrong gradient would bend the curve.
    expect(cpuStock[steps - 1]!).toBeLessThan(cpuStock[0]! * 0.95);
    for (let i = 0; i < steps; i++) {
      expect(Math.abs(wasm[i]! - cpuStock[i]!)).toBeLessThan(1e-3 * Math.abs(cpuStock[i]!));
      expect(Math.abs(cpuFast[i]! - cpuStock[i]!)).toBeLessThan(1e-3 * Math.abs(cpuStock[i]!));
    }
  });
});

describe('wasmThreadingSupported', () => {
  it('answers from a child process, once', async () => {
    const first = wasmThreadingSupported();
    expect(wasmThreadingSupported()).toBe(first);
    expect(typeof (await first)).toBe('boolean');
  });
});
