import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { floatInputs, storeOf, type KernelArgs } from './stores.ts';
import { ptr, simdKernels } from './wasm-simd.ts';

/**
 * One Adam update of one variable as one kernel ('PipeAdam'):
 * g' = g + wd * w (when the variable decays), m' = b1 m + (1 - b1) g',
 * v' = b2 v + (1 - b2) g'^2, w' = w - step * m' / (sqrt(v') + eps), where
 * `step` already holds the learning rate and the bias correction. Composed
 * from tfjs ops that is eleven kernels per variable (~2,900 a step for the
 * production model), each with its dispatch and a temporary. Every operation
 * is rounded to float32 as tfjs's kernels round it (a float32 product, sum,
 * quotient or square root computed in double precision and rounded once is
 * the correctly rounded float32 result), so the weights are the same to the bit.
 * On wasm the same loop runs in WebAssembly SIMD (simd/kernels.wat): in
 * JavaScript it was a sixth of the default pipeline's training step (21-23 of
 * 132 ms at batch 4 of 96x96, bench/default-step-profile.ts), Math.fround and
 * the division costing ~8 ns a value.
 */

export const ADAM = 'PipeAdam';

export interface AdamAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Learning rate (with the variable's multiplier) times Adam's bias correction. */
  step: number;
  decay: boolean;
}

function inputsOf(args: KernelArgs): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] {
  return floatInputs(args.inputs, ['w', 'm', 'v', 'g'], 'Adam') as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
}

/** The update in JavaScript: Math.fround after each operation, as float32 kernels round. */
function adamKernel(args: KernelArgs): tf.TensorInfo[] {
  const [w, m, v, g] = inputsOf(args);
  const a = args.attrs as unknown as AdamAttrs;
  const st = storeOf(args.backend);
  // Outputs first: on wasm an allocation can grow (and move) the heap under earlier views.
  const out = st.outputs([w.shape, w.shape, w.shape]);
  const [wOut, mOut, vOut] = out.arrays as [Float32Array, Float32Array, Float32Array];
  const wv = st.read(w);
  const mv = st.read(m);
  const vv = st.read(v);
  const gv = st.read(g);
  const f = Math.fround;
  const b1 = f(a.beta1);
  const ob1 = f(1 - a.beta1);
  const b2 = f(a.beta2);
  const ob2 = f(1 - a.beta2);
  const eps = f(a.epsilon);
  const wd = f(a.weightDecay);
  const step = f(a.step);
  for (let i = 0; i < wv.length; i++) {
    const wi = wv[i]!;
    const gi = a.decay ? f(gv[i]! + f(wi * wd)) : gv[i]!;
    const mi = f(f(mv[i]! * b1) + f(gi * ob1));
    const vi = f(f(vv[i]! * b2) + f(f(gi * gi) * ob2));
    mOut[i] = mi;
    vOut[i] = vi;
    wOut[i] = f(wi - f(f(mi * step) / f(f(Math.sqrt(vi)) + eps)));
  }
  out.finish();
  return out.infos;
}

function wasmAdamKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as unknown as BackendWasm;
  const simd = simdKernels(backend);
  if (simd == null) return adamKernel(args);
  const [w, m, v, g] = inputsOf(args);
  const a = args.attrs as unknown as AdamAttrs;
  const wOut = backend.makeOutput(w.shape, 'float32');
  const mOut = backend.makeOutput(w.shape, 'float32');
  const vOut = backend.makeOutput(w.shape, 'float32');
  const n = w.shape.reduce((x, d) => x * d, 1);
  // 1 - beta is computed here in double precision and rounded once on the way in, as the JavaScript loop does.
  simd.adam(
    ptr(backend, w), ptr(backend, m), ptr(backend, v), ptr(backend, g), ptr(backend, wOut), ptr(backend, mOut), ptr(backend, vOut), n,
    a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.epsilon, a.weightDecay, a.step, a.decay ? 1 : 0,
  );
  return [wOut, mOut, vOut];
}

export const cpuAdam = adamKernel as unknown as tf.KernelFunc;
export const wasmAdam = wasmAdamKernel as unknown as tf.KernelFunc;

/** The updated weights and moments of one variable, or undefined where the backend lacks the kernel. */
export function adamStep(w: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, attrs: AdamAttrs): { w: tf.Tensor; m: tf.Tensor; v: tf.Tensor } | undefined {
  if (tf.getKernel(ADAM, tf.getBackend()) == null || w.dtype !== 'float32') return undefined;
  const [wOut, mOut, vOut] = tf.engine().runKernel(ADAM, { w, m, v, g }, attrs as unknown as tf.NamedAttrMap) as [tf.Tensor, tf.Tensor, tf.Tensor];
  return { w: wOut, m: mOut, v: vOut };
}
