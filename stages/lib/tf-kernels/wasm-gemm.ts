import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { FusedActivation } from './group-norm-loops.ts';
import { ptr, simdKernels } from './wasm-simd.ts';
import { orStock } from './stores.ts';

/**
 * 1x1 convolutions (stride 1) on the wasm backend as our own GEMM
 * (simd/kernels.wat `gemm_bias_act`): bias and activation applied in the same
 * pass. Measured on this project's 2-core bench machine (AMD EPYC, Node 20),
 * XNNPACK's WebAssembly SIMD GEMM inside tfjs-backend-wasm 4.22 runs the
 * production model's 1x1 layers at 25-37 GFLOP/s; a plain 4x8 register tile
 * of multiplies and adds runs them at 42-47. The 1x1 layers are about two
 * thirds of an inference pass.
 *
 * The filter is packed into panels of 8 output channels on every call (one
 * pass over the weights, ~1-2% of the product's time at these shapes); no
 * cache, so nothing to invalidate when a training step replaces a weight.
 *
 * Where it applies: float32, NHWC, filter [1, 1, K, N] with N a multiple of 8,
 * stride 1, dilation 1, K at most MAX_K (each panel of K x 8 weights stays in
 * the core's cache while 4 pixels at a time stream past it; a GEMM over all
 * pixels as the inner dimension, as the filter-gradient kernels write, is left
 * to XNNPACK), and the SIMD module runs on the backend's memory. Otherwise
 * undefined, and callers use the backend's own kernel.
 */
export const MAX_K = 4096;

/** The clamp [lo, hi] that applies each fused activation. */
export const CLAMP: Record<FusedActivation, [number, number]> = {
  linear: [-Infinity, Infinity],
  relu: [0, Infinity],
  relu6: [0, 6],
};

/** Whether {@link pointwiseConv} runs this convolution. */
export function pointwiseApplies(x: TensorInfo, filter: TensorInfo, strides: number | number[], dilations: number | number[] | undefined, dataFormat: string | undefined): boolean {
  const [kh, kw, k, n] = filter.shape;
  const ones = (v: number | number[] | undefined) => v == null || (Array.isArray(v) ? v.every((d) => d === 1) : v === 1);
  return (
    x.dtype === 'float32' && filter.dtype === 'float32' && x.shape.length === 4 && filter.shape.length === 4 &&
    kh === 1 && kw === 1 && k === x.shape[3] && n != null && n % 8 === 0 && k != null && k > 0 && k <= MAX_K &&
    ones(strides) && ones(dilations) && (dataFormat == null || dataFormat === 'NHWC')
  );
}

/**
 * act(x . filter + bias) for a 1x1, stride-1 convolution, channels last, on
 * the wasm backend; undefined where {@link pointwiseApplies} says no or the
 * SIMD module cannot run. `bias` [N] or null.
 */
export function pointwiseConv(backend: BackendWasm, x: TensorInfo, filter: TensorInfo, bias: TensorInfo | null, activation: FusedActivation): TensorInfo | undefined {
  if (bias != null && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== filter.shape[3])) return undefined;
  return gemm(backend, x, filter, filter.shape[3]!, false, bias, activation);
}

/**
 * The input gradient of a 1x1, stride-1 layer, dx = dy . W^T (dy [b, h, w, co],
 * filter [1, 1, ci, co], dx [b, h, w, ci]), with the filter packed straight
 * from its transpose: no Transpose kernel (~2% of a training step). The same
 * sums in the same order as the transposed filter through {@link pointwiseConv}.
 * Undefined unless ci is a multiple of 8, co at most MAX_K and the SIMD module runs.
 */
export function pointwiseInputGrad(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo): TensorInfo | undefined {
  const [kh, kw, ci, co] = filter.shape;
  if (kh !== 1 || kw !== 1 || ci == null || co == null || ci % 8 !== 0 || co > MAX_K || dy.shape.length !== 4 || dy.shape[3] !== co) return undefined;
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  return gemm(backend, dy, filter, ci, true, null, 'linear');
}

/** act(a . B + bias) with B the filter (or its transpose) packed into 8-column panels; n output channels. */
function gemm(backend: BackendWasm, a: TensorInfo, filter: TensorInfo, n: number, transposed: boolean, bias: TensorInfo | null, activation: FusedActivation): TensorInfo | undefined {
  const simd = simdKernels(backend);
  if (simd == null) return undefined;
  const [b, h, w, k] = a.shape as [number, number, number, number];
  const out = backend.makeOutput([b, h, w, n], 'float32');
  const packed = backend.makeOutput([k * n], 'float32');
  try {
    // Pointers after both allocations (an allocation can grow the heap; offsets stay valid).
    if (transposed) simd.pack_panels_t(ptr(backend, filter), ptr(backend, packed), k, n);
    else simd.pack_panels(ptr(backend, filter), ptr(backend, packed), k, n);
    const [lo, hi] = CLAMP[activation];
    simd.gemm_bias_act(ptr(backend, a), ptr(backend, packed), bias == null ? 0 : ptr(backend, bias), ptr(backend, out), b * h * w, k, n, lo, hi);
  } finally {
    backend.disposeData(packed.dataId);
  }
  return out;
}

/**
 * Conv2D for the wasm backend: 1x1, stride-1 layers through {@link pointwiseConv}
 * (the convolutions a group norm follows, and the 1x1 input gradients our
 * gradient kernels write as convolutions), everything else through the stock kernel.
 */
export function wasmConv2D(stock: KernelFunc | undefined): KernelFunc {
  return orStock('Conv2D', stock, (args) => {
    const { x, filter } = args.inputs;
    const a = args.attrs as { strides: number | number[]; pad: unknown; dilations?: number | number[]; dataFormat?: string };
    if (x == null || filter == null || !pointwiseApplies(x, filter, a.strides, a.dilations, a.dataFormat) || !validPad(a.pad)) return undefined;
    return pointwiseConv(args.backend as unknown as BackendWasm, x, filter, null, 'linear');
  });
}

/** A 1x1 stride-1 convolution pads nothing with 'same' or 'valid'; explicit padding must be all zero. */
function validPad(pad: unknown): boolean {
  if (pad === 'same' || pad === 'valid') return true;
  return Array.isArray(pad) && pad.every((p) => (Array.isArray(p) ? p.every((v) => v === 0) : p === 0));
}

