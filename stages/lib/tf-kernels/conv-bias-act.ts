import * as tf from '@tensorflow/tfjs-core';
import { BackendCalls } from './backend-calls.ts';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ACT_CODE, activationGradFromOutput, type FusedActivation } from './group-norm-loops.ts';
import { storeOf, type KernelArgs } from './stores.ts';
import { ptr, simdKernels, sumScratch } from './wasm-simd.ts';
import { pointwiseApplies, pointwiseConv } from './wasm-gemm.ts';
import { depthwise3x3 } from './wasm-depthwise.ts';

/**
 * act(conv(x, W) + b) as one op ('PipeConvBiasAct') for regular and depthwise
 * convolutions: forward through the backend's own FusedConv2D /
 * FusedDepthwiseConv2D (on wasm, XNNPACK applies bias and clamp inside the
 * GEMM, so the activation costs nothing), and one gradient kernel
 * ('PipeActGrad') that turns dy into dz = dy * act'(z) and db = sum dz from
 * the saved output y, before the backend's input and filter gradients of the
 * plain convolution. Before, every folded trunk layer ran a separate bias +
 * activation kernel in JavaScript after its convolution: a quarter of an
 * inference pass.
 *
 * The mask is read from the output: relu passes where y > 0, relu6 where
 * 0 < y < 6. That equals tfjs's (z > 0, 0 < z <= 6) except at z = 6 exactly,
 * where, like PyTorch's hardtanh, no gradient passes.
 */

export const CONV_BIAS_ACT = 'PipeConvBiasAct';
export const ACT_GRAD = 'PipeActGrad';

export interface ConvBiasActAttrs {
  depthwise: boolean;
  strides: [number, number];
  pad: 'same' | 'valid';
  activation: FusedActivation;
  /**
   * Dilation. Trained only for depthwise layers at stride 1 on backends
   * whose depthwise gradient kernels take dilations (ours on wasm:
   * {@link trainsDilatedDepthwise}); elsewhere forward only, and atrous.ts
   * writes trained dilated layers as space-to-batch.
   */
  dilations?: [number, number];
}

function forwardKernel(backendName: string) {
  return (args: KernelArgs): tf.TensorInfo => {
    const a = args.attrs as unknown as ConvBiasActAttrs;
    const { x, filter, bias } = args.inputs;
    if (x == null || filter == null || bias == null) throw new Error('tf-kernels: conv + bias + activation needs x, filter and bias');
    const dilations = a.dilations ?? [1, 1];
    if (backendName === 'wasm' && !a.depthwise && pointwiseApplies(x, filter, a.strides, dilations, 'NHWC')) {
      // 1x1, stride 1: our GEMM (wasm-gemm.ts), faster than XNNPACK's at these shapes.
      const y = pointwiseConv(args.backend as unknown as BackendWasm, x, filter, bias, a.activation);
      if (y != null) return y;
    }
    if (backendName === 'wasm' && a.depthwise) {
      // 3x3: our loop (wasm-depthwise.ts), about 2x XNNPACK's at these shapes.
      const y = depthwise3x3(args.backend as unknown as BackendWasm, x, filter, bias, a.strides, dilations, a.pad, a.activation);
      if (y != null) return y;
    }
    const calls = new BackendCalls(args.backend, backendName);
    const attrs = { strides: a.strides, pad: a.pad, dilations, dataFormat: 'NHWC', activation: a.activation };
    return calls.keep(calls.run(a.depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D', { x, filter, bias }, attrs as unknown as tf.NamedAttrMap));
  };
}

function actGradKernel(args: KernelArgs): tf.TensorInfo[] {
  const { activation } = args.attrs as unknown as { activation: FusedActivation };
  const { dy, y } = args.inputs;
  if (dy == null || y == null || dy.dtype !== 'float32' || y.dtype !== 'float32') throw new Error('tf-kernels: activation gradient needs float32 dy and y');
  const c = y.shape[y.shape.length - 1] ?? 0;
  const st = storeOf(args.backend);
  const out = st.outputs([y.shape, [c]]);
  activationGradFromOutput(st.read(y), st.read(dy), c, activation, out.arrays[0]!, out.arrays[1]!);
  out.finish();
  return out.infos;
}

/**
 * The same on wasm through the SIMD loop (about 15x the JavaScript one); a
 * linear layer's dz is dy itself, shared, not copied.
 */
function wasmActGradKernel(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as unknown as BackendWasm;
  const { activation } = args.attrs as unknown as { activation: FusedActivation };
  const { dy, y } = args.inputs;
  const c = y?.shape[y.shape.length - 1] ?? 0;
  const simd = c % 4 === 0 && dy?.dtype === 'float32' && y?.dtype === 'float32' ? simdKernels(backend) : undefined;
  if (simd == null || dy == null || y == null) return actGradKernel(args);
  const calls = new BackendCalls(args.backend, 'wasm');
  try {
    const act = ACT_CODE[activation];
    const dz = act === 0 ? calls.run('Identity', { x: dy }) : calls.track(backend.makeOutput(y.shape, 'float32'));
    const db = calls.track(backend.makeOutput([c], 'float32'));
    const sums = sumScratch(calls, backend, c);
    const rows = y.shape.reduce((a, d) => a * d, 1) / c;
    simd.act_grad(ptr(backend, y), ptr(backend, dy), act === 0 ? 0 : ptr(backend, dz), sums.a32, sums.a64, rows, c, act);
    (backend.typedArrayFromHeap(db) as Float32Array).set(sums.totals());
    return [calls.keep(dz), calls.keep(db)];
  } finally {
    calls.dispose();
  }
}

export const wasmConvBiasAct = forwardKernel('wasm') as unknown as tf.KernelFunc;
export const cpuConvBiasAct = forwardKernel('cpu') as unknown as tf.KernelFunc;
export const cpuActGrad = actGradKernel as unknown as tf.KernelFunc;
export const wasmActGrad = wasmActGradKernel as unknown as tf.KernelFunc;

/** Registers the gradient of PipeConvBiasAct (backend-independent; once per process). */
export function registerConvBiasActGradient(): void {
  if (tf.getGradient(CONV_BIAS_ACT) != null) return;
  tf.registerGradient({
    kernelName: CONV_BIAS_ACT,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const a = attrs as unknown as ConvBiasActAttrs;
      const dilations = a.dilations ?? [1, 1];
      if (dilations.some((d) => d !== 1) && !(a.depthwise && a.strides.every((v) => v === 1) && trainsDilatedDepthwise())) {
        throw new Error('tf-kernels: no gradient for this dilated conv + bias + activation (train atrous layers through stages/lib/tf/atrous.ts)');
      }
      const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const [dz, db] = tf.engine().runKernel(ACT_GRAD, { dy: dy as tf.Tensor, y }, { activation: a.activation }) as [tf.Tensor4D, tf.Tensor1D];
      const e = tf.engine();
      const geometry = { strides: a.strides, pad: a.pad, dilations, dataFormat: 'NHWC' };
      return a.depthwise
        ? {
            x: () => e.runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dz, filter }, { ...geometry, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
            filter: () => e.runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy: dz }, { ...geometry, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
            bias: () => db,
          }
        : {
            x: () => e.runKernel('Conv2DBackpropInput', { dy: dz, filter }, { ...geometry, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
            filter: () => e.runKernel('Conv2DBackpropFilter', { x, dy: dz }, { ...geometry, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
            bias: () => db,
          };
    },
  });
}

/**
 * act(conv(x, filter, stride, pad) + bias), regular (`filter` [kh, kw, ci, co]) or depthwise
 * (`filter` [kh, kw, c, 1]), as one op where the backend has it; undefined otherwise.
 */
export function convBiasAct(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, attrs: ConvBiasActAttrs): tf.Tensor4D | undefined {
  if (!hasConvBiasAct()) return undefined;
  return tf.engine().runKernel(CONV_BIAS_ACT, { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * Whether the active backend trains dilated depthwise convolutions directly
 * (through {@link convBiasAct} with `dilations`): its depthwise gradient
 * kernels are ours on wasm, which take dilations (tfjs's CPU kernels ignore
 * them). Saves space-to-batch's copies and its padded phase images (at ASPP's
 * rate 12 on a 16x16 map, 9x the pixels).
 */
export function trainsDilatedDepthwise(): boolean {
  return hasConvBiasAct() && dilatedDepthwiseBackends.has(tf.getBackend());
}

/**
 * Backends whose depthwise gradient kernels are ours (registered by index.ts).
 * A set, not a comparison with the registered kernel function: a profiler or
 * tracer that wraps the kernels still runs ours.
 */
const dilatedDepthwiseBackends = new Set<string>();

/** Records that `backendName` runs our dilation-aware depthwise gradient kernels. */
export function markDilatedDepthwiseGradients(backendName: string): void {
  dilatedDepthwiseBackends.add(backendName);
}

/** Whether the active backend runs {@link convBiasAct} as one op. */
export function hasConvBiasAct(): boolean {
  return tf.getKernel(CONV_BIAS_ACT, tf.getBackend()) != null && tf.getGradient(CONV_BIAS_ACT) != null;
}
