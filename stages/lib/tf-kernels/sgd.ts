import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { floatInputs, storeOf, type KernelArgs } from './stores.ts';
import { ptr, simdKernels } from './wasm-simd.ts';

/**
 * One SGD-with-momentum update of one variable as one kernel
 * ('PipeSgdMomentum'): g' = g + wd * w (when the variable decays),
 * acc' = momentum * acc + g', w' = w - rate * acc'. Composed from tfjs ops
 * that was five kernels per variable, ~750 a step for the production model,
 * each with its dispatch and a temporary. Every product and sum is rounded to
 * float32 as tfjs's ops round them, so the weights are the same to the bit.
 */

export const SGD_MOMENTUM = 'PipeSgdMomentum';

export interface SgdAttrs {
  momentum: number;
  weightDecay: number;
  rate: number;
  decay: boolean;
}

function inputsOf(args: KernelArgs): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] {
  return floatInputs(args.inputs, ['w', 'acc', 'g'], 'SGD') as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
}

/** The update in JavaScript: Math.fround after each operation, as float32 kernels round. */
function sgdKernel(args: KernelArgs): tf.TensorInfo[] {
  const [w, acc, g] = inputsOf(args);
  const a = args.attrs as unknown as SgdAttrs;
  const st = storeOf(args.backend);
  const out = st.outputs([w.shape, w.shape]);
  const [wOut, accOut] = out.arrays as [Float32Array, Float32Array];
  const wv = st.read(w);
  const av = st.read(acc);
  const gv = st.read(g);
  const f = Math.fround;
  const m = f(a.momentum);
  const wd = f(a.weightDecay);
  const rate = f(a.rate);
  for (let i = 0; i < wv.length; i++) {
    const gi = a.decay ? f(gv[i]! + f(wv[i]! * wd)) : gv[i]!;
    const ai = f(f(av[i]! * m) + gi);
    accOut[i] = ai;
    wOut[i] = f(wv[i]! - f(ai * rate));
  }
  out.finish();
  return out.infos;
}

function wasmSgdKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as unknown as BackendWasm;
  const simd = simdKernels(backend);
  if (simd == null) return sgdKernel(args);
  const [w, acc, g] = inputsOf(args);
  const a = args.attrs as unknown as SgdAttrs;
  const wOut = backend.makeOutput(w.shape, 'float32');
  const accOut = backend.makeOutput(w.shape, 'float32');
  const n = w.shape.reduce((x, d) => x * d, 1);
  simd.sgd_momentum(ptr(backend, w), ptr(backend, acc), ptr(backend, g), ptr(backend, wOut), ptr(backend, accOut), n, a.momentum, a.weightDecay, a.rate, a.decay ? 1 : 0);
  return [wOut, accOut];
}

export const cpuSgdMomentum = sgdKernel as unknown as tf.KernelFunc;
export const wasmSgdMomentum = wasmSgdKernel as unknown as tf.KernelFunc;

/** The updated weights and momentum of one variable, or undefined where the backend lacks the kernel. */
export function sgdMomentumStep(w: tf.Tensor, acc: tf.Tensor, g: tf.Tensor, attrs: SgdAttrs): { w: tf.Tensor; acc: tf.Tensor } | undefined {
  if (tf.getKernel(SGD_MOMENTUM, tf.getBackend()) == null || w.dtype !== 'float32') return undefined;
  const [wOut, accOut] = tf.engine().runKernel(SGD_MOMENTUM, { w, acc, g }, attrs as unknown as tf.NamedAttrMap) as [tf.Tensor, tf.Tensor];
  return { w: wOut, acc: accOut };
}
