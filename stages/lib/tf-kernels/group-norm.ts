import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendCalls } from './backend-calls.ts';
import { cpuStore, floatInputs, wasmStore, type KernelArgs, type Store } from './stores.ts';
import { ptr, scratchOf, simdKernels, sumScratch, type SimdKernels } from './wasm-simd.ts';
import {
  ACT_CODE,
  affineOf,
  backwardTerms,
  biasActBackward,
  biasActForward,
  groupNormBackward,
  groupMoments,
  groupNormForward,
  type FusedActivation,
  type GroupNormShape,
} from './group-norm-loops.ts';

/**
 * Group norm + activation as one tfjs kernel ('PipeGroupNorm') with its own
 * gradient kernel ('PipeGroupNormGrad'), and bias + activation likewise
 * ('PipeBiasAct', 'PipeBiasActGrad'), for the wasm and CPU backends (the loops
 * are in group-norm-loops.ts). Backends without them (tfjs-node) keep the
 * composed ops: `groupNormAct` and `biasAct` return undefined there.
 */

export const GROUP_NORM = 'PipeGroupNorm';
export const GROUP_NORM_GRAD = 'PipeGroupNormGrad';
export const BIAS_ACT = 'PipeBiasAct';
export const BIAS_ACT_GRAD = 'PipeBiasActGrad';

export interface GroupNormAttrs {
  groups: number;
  epsilon: number;
  activation: FusedActivation;
}

function shapeOf(x: tf.TensorInfo, a: GroupNormAttrs): GroupNormShape {
  if (x.shape.length !== 4) throw new Error(`tf-kernels: group norm wants a 4-D input, got [${x.shape}]`);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  if (c % a.groups !== 0) throw new Error(`tf-kernels: ${c} channels do not split into ${a.groups} groups`);
  return { n, pixels: h * w, channels: c, groups: a.groups, epsilon: a.epsilon, activation: a.activation };
}

function forwardKernel(store: (b: tf.KernelBackend) => Store) {
  return (args: KernelArgs): tf.TensorInfo => {
    const a = args.attrs as unknown as GroupNormAttrs;
    const [x, gamma, beta] = floatInputs(args.inputs, ['x', 'gamma', 'beta'], 'group norm');
    const s = shapeOf(x!, a);
    const st = store(args.backend);
    const out = st.outputs([x!.shape]);
    // Views of the inputs after the allocation (the heap may have moved).
    groupNormForward(st.read(x!), st.read(gamma!), st.read(beta!), s, out.arrays[0]!);
    out.finish();
    return out.infos[0]!;
  };
}

function backwardKernel(store: (b: tf.KernelBackend) => Store) {
  return (args: KernelArgs): tf.TensorInfo[] => {
    const a = args.attrs as unknown as GroupNormAttrs;
    const [dy, x, gamma, beta] = floatInputs(args.inputs, ['dy', 'x', 'gamma', 'beta'], 'group norm');
    const s = shapeOf(x!, a);
    const st = store(args.backend);
    const out = st.outputs([x!.shape, [s.channels], [s.channels]]);
    const [dx, dgamma, dbeta] = out.arrays as [Float32Array, Float32Array, Float32Array];
    groupNormBackward(st.read(x!), st.read(gamma!), st.read(beta!), st.read(dy!), s, dx, dgamma, dbeta);
    out.finish();
    return out.infos;
  };
}

function channelsOf(x: tf.TensorInfo, bias: tf.TensorInfo): number {
  const c = x.shape[x.shape.length - 1] ?? 0;
  if (bias.shape.length !== 1 || bias.shape[0] !== c) throw new Error(`tf-kernels: bias [${bias.shape}] does not fit x [${x.shape}]`);
  return c;
}

function biasActKernel(store: (b: tf.KernelBackend) => Store) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { activation } = args.attrs as unknown as { activation: FusedActivation };
    const [x, bias] = floatInputs(args.inputs, ['x', 'bias'], 'group norm');
    const c = channelsOf(x!, bias!);
    const st = store(args.backend);
    const out = st.outputs([x!.shape]);
    biasActForward(st.read(x!), st.read(bias!), c, activation, out.arrays[0]!);
    out.finish();
    return out.infos[0]!;
  };
}

function biasActGradKernel(store: (b: tf.KernelBackend) => Store) {
  return (args: KernelArgs): tf.TensorInfo[] => {
    const { activation } = args.attrs as unknown as { activation: FusedActivation };
    const [dy, x, bias] = floatInputs(args.inputs, ['dy', 'x', 'bias'], 'group norm');
    const c = channelsOf(x!, bias!);
    const st = store(args.backend);
    const out = st.outputs([x!.shape, [c]]);
    biasActBackward(st.read(x!), st.read(bias!), st.read(dy!), c, activation, out.arrays[0]!, out.arrays[1]!);
    out.finish();
    return out.infos;
  };
}

export const wasmBiasAct = biasActKernel(wasmStore) as unknown as tf.KernelFunc;
export const wasmBiasActGrad = biasActGradKernel(wasmStore) as unknown as tf.KernelFunc;
export const cpuBiasAct = biasActKernel(cpuStore) as unknown as tf.KernelFunc;
export const cpuBiasActGrad = biasActGradKernel(cpuStore) as unknown as tf.KernelFunc;

/**
 * What both wasm passes do first for each image: the SIMD per-channel sums of
 * x (float64 totals), the group moments, then the per-channel affine map
 * y = act(scale * x + shift) group norm reduces to.
 */
function imageStats(simd: SimdKernels, calls: BackendCalls, backend: BackendWasm, x: tf.TensorInfo, gamma: tf.TensorInfo, beta: tf.TensorInfo, s: GroupNormShape) {
  const { pixels, channels: c, groups } = s;
  const gammaValues = (backend.typedArrayFromHeap(gamma) as Float32Array).slice();
  const betaValues = (backend.typedArrayFromHeap(beta) as Float32Array).slice();
  const st = { gamma: gammaValues, mean: new Float64Array(groups), rstd: new Float64Array(groups), scale: new Float32Array(c), shift: new Float32Array(c), bytes: pixels * c * 4 };
  return {
    ...st,
    /** Fills mean, rstd, scale and shift for image `b`; returns the byte offset of its x. */
    at(b: number): number {
      const xb = ptr(backend, x) + b * st.bytes;
      const sums = sumScratch(calls, backend, 2 * c);
      simd.gn_sums(xb, sums.a32, sums.a64, pixels, c);
      const t = sums.totals();
      groupMoments(t.subarray(0, c), t.subarray(c), s, st.mean, st.rstd);
      affineOf(st.mean, st.rstd, gammaValues, betaValues, s, st.scale, st.shift);
      return xb;
    },
  };
}

/**
 * The wasm forward pass, one image at a time, with the SIMD loops (see
 * {@link imageStats}). JavaScript loops where the channels are not a multiple of 4.
 */
function wasmGroupNormForward(args: KernelArgs): tf.TensorInfo {
  const a = args.attrs as unknown as GroupNormAttrs;
  const [x, gamma, beta] = floatInputs(args.inputs, ['x', 'gamma', 'beta'], 'group norm');
  const s = shapeOf(x!, a);
  const backend = args.backend as unknown as BackendWasm;
  const simd = s.channels % 4 === 0 ? simdKernels(backend) : undefined;
  if (simd == null) return jsWasmForward(args);
  const calls = new BackendCalls(args.backend, 'wasm');
  try {
    const out = backend.makeOutput(x!.shape, 'float32');
    const st = imageStats(simd, calls, backend, x!, gamma!, beta!, s);
    for (let b = 0; b < s.n; b++) {
      const xb = st.at(b);
      simd.affine_act(xb, scratchOf(calls, backend, st.scale), scratchOf(calls, backend, st.shift), ptr(backend, out) + b * st.bytes, s.pixels, s.channels, ACT_CODE[a.activation]);
    }
    return out;
  } finally {
    calls.dispose();
  }
}

/** The wasm backward pass with the SIMD loops (see {@link groupNormBackward} for the algebra). */
function wasmGroupNormBackward(args: KernelArgs): tf.TensorInfo[] {
  const a = args.attrs as unknown as GroupNormAttrs;
  const [dy, x, gamma, beta] = floatInputs(args.inputs, ['dy', 'x', 'gamma', 'beta'], 'group norm');
  const s = shapeOf(x!, a);
  const backend = args.backend as unknown as BackendWasm;
  const simd = s.channels % 4 === 0 ? simdKernels(backend) : undefined;
  if (simd == null) return jsWasmBackward(args);
  const calls = new BackendCalls(args.backend, 'wasm');
  try {
    const { pixels, channels: c } = s;
    const dx = calls.track(backend.makeOutput(x!.shape, 'float32'));
    const dgammaT = calls.track(backend.makeOutput([c], 'float32'));
    const dbetaT = calls.track(backend.makeOutput([c], 'float32'));
    const st = imageStats(simd, calls, backend, x!, gamma!, beta!, s);
    const [p, q, r, dgamma, dbeta] = Array.from({ length: 5 }, () => new Float32Array(c)) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    for (let b = 0; b < s.n; b++) {
      const xb = st.at(b);
      const dxb = ptr(backend, dx) + b * st.bytes;
      // Pass 1: dz into dx, and its sums; pass 2: dx = p dz + q x + r in place.
      const dsums = sumScratch(calls, backend, 2 * c);
      simd.gn_back1(xb, ptr(backend, dy!) + b * st.bytes, dxb, scratchOf(calls, backend, st.scale), scratchOf(calls, backend, st.shift), dsums.a32, dsums.a64, pixels, c, ACT_CODE[a.activation]);
      const d = dsums.totals();
      backwardTerms(d.subarray(0, c), d.subarray(c), st.mean, st.rstd, st.gamma, s, p, q, r, dgamma, dbeta);
      simd.affine3(dxb, xb, scratchOf(calls, backend, p), scratchOf(calls, backend, q), scratchOf(calls, backend, r), dxb, pixels, c);
    }
    (backend.typedArrayFromHeap(dgammaT) as Float32Array).set(dgamma);
    (backend.typedArrayFromHeap(dbetaT) as Float32Array).set(dbeta);
    return [calls.keep(dx), calls.keep(dgammaT), calls.keep(dbetaT)];
  } finally {
    calls.dispose();
  }
}

const jsWasmForward = forwardKernel(wasmStore);
const jsWasmBackward = backwardKernel(wasmStore);

export const wasmGroupNorm = wasmGroupNormForward as unknown as tf.KernelFunc;
export const wasmGroupNormGrad = wasmGroupNormBackward as unknown as tf.KernelFunc;
export const cpuGroupNorm = forwardKernel(cpuStore) as unknown as tf.KernelFunc;
export const cpuGroupNormGrad = backwardKernel(cpuStore) as unknown as tf.KernelFunc;

/** Registers the gradients of PipeGroupNorm and PipeBiasAct (backend-independent; once per process). */
export function registerGroupNormGradient(): void {
  if (tf.getGradient(BIAS_ACT) == null) {
    tf.registerGradient({
      kernelName: BIAS_ACT,
      inputsToSave: ['x', 'bias'],
      gradFunc: (dy, saved, attrs) => {
        const [x, bias] = saved as [tf.Tensor, tf.Tensor];
        const [dx, dbias] = tf.engine().runKernel(BIAS_ACT_GRAD, { dy: dy as tf.Tensor, x, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        return { x: () => dx!, bias: () => dbias! };
      },
    });
  }
  if (tf.getGradient(GROUP_NORM) != null) return;
  tf.registerGradient({
    kernelName: GROUP_NORM,
    inputsToSave: ['x', 'gamma', 'beta'],
    gradFunc: (dy, saved, attrs) => {
      const [x, gamma, beta] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const [dx, dgamma, dbeta] = tf.engine().runKernel(
        GROUP_NORM_GRAD,
        { dy: dy as tf.Tensor, x, gamma, beta },
        attrs as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[];
      return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
    },
  });
}

/**
 * act(group norm of x with scale gamma and shift beta) as one kernel, when
 * the active backend has it; undefined otherwise (compose the ops instead).
 */
export function groupNormAct(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  attrs: GroupNormAttrs,
): tf.Tensor4D | undefined {
  if (tf.getKernel(GROUP_NORM, tf.getBackend()) == null || tf.getGradient(GROUP_NORM) == null) return undefined;
  return tf.engine().runKernel(GROUP_NORM, { x, gamma, beta }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** act(x + bias) (bias over the last axis) as one kernel where the backend has it; undefined otherwise. */
export function biasAct(x: tf.Tensor, bias: tf.Tensor1D, activation: FusedActivation): tf.Tensor | undefined {
  if (x.dtype !== 'float32' || tf.getKernel(BIAS_ACT, tf.getBackend()) == null || tf.getGradient(BIAS_ACT) == null) return undefined;
  return tf.engine().runKernel(BIAS_ACT, { x, bias }, { activation } as unknown as tf.NamedAttrMap) as tf.Tensor;
}
