import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { FusedActivation } from './group-norm-loops.ts';
import { CLAMP } from './wasm-gemm.ts';
import { ptr, simdKernels } from './wasm-simd.ts';
import { orStock } from './stores.ts';

/**
 * The share of output pixels whose window lies inside the input below which
 * the tap-by-tap loop beats the row loop (16x16 maps: 77% inside at rate 1,
 * 56% at rate 2; measured 0.42 against 0.50 ms and 0.97 against 0.63 ms).
 */
export const MIN_INTERIOR = 0.7;

/**
 * 3x3 depthwise convolutions (channel multiplier 1) on the wasm backend as our
 * own SIMD loop (simd/kernels.wat `dw3x3`), bias and activation in the same
 * pass. XNNPACK's WebAssembly depthwise kernel inside tfjs-backend-wasm 4.22
 * runs the production model's depthwise layers at about 10 GFLOP/s (it reads
 * every tap through a pointer table and reloads the filter per pixel); this
 * keeps a row's 9 filter vectors in registers. Maps where fewer than
 * MIN_INTERIOR of the output pixels lie away from the border (small maps,
 * large dilations) run tap by tap instead (`dw3x3_taps`, the same sums in the
 * same order): 1.5-3.5x XNNPACK's there. Any stride and dilation (equal in
 * both directions), 'same', 'valid' or explicit padding, channels a multiple
 * of 4; undefined otherwise, and callers use the backend's kernel.
 */
export function depthwise3x3(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | null,
  strides: number | [number, number],
  dilations: number | [number, number] | undefined,
  pad: backend_util.ExplicitPadding | 'same' | 'valid' | number,
  activation: FusedActivation,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
  minInterior = MIN_INTERIOR,
): TensorInfo | undefined {
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return undefined;
  const [kh, kw, fc, mult] = filter.shape;
  const c = x.shape[3]!;
  if (kh !== 3 || kw !== 3 || mult !== 1 || fc !== c || c % 4 !== 0) return undefined;
  if (bias != null && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== c)) return undefined;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    strides, dilations ?? 1, pad, dimRoundingMode, true);
  if (info.strideHeight !== info.strideWidth || info.dilationHeight !== info.dilationWidth) return undefined;
  const simd = simdKernels(backend);
  if (simd == null) return undefined;
  const s = info.strideWidth;
  const d = info.dilationWidth;
  const { top, left } = info.padInfo;
  // Output columns whose 3 taps all fall inside the input: [xlo, xhi).
  const xlo = Math.min(info.outWidth, Math.ceil(left / s));
  const xhi = Math.max(xlo, Math.min(info.outWidth, Math.floor((info.inWidth - 1 - 2 * d + left) / s) + 1));
  // Likewise the rows; the row loop's border pixels take a slow path that tests every tap.
  const ylo = Math.min(info.outHeight, Math.ceil(top / s));
  const yhi = Math.max(ylo, Math.min(info.outHeight, Math.floor((info.inHeight - 1 - 2 * d + top) / s) + 1));
  const out = backend.makeOutput(info.outShape, 'float32');
  const [lo, hi] = CLAMP[activation];
  if ((yhi - ylo) * (xhi - xlo) < minInterior * info.outHeight * info.outWidth) {
    // Mostly border (small maps, large dilations): tap by tap, no per-pixel tests.
    simd.dw3x3_taps(
      ptr(backend, x), ptr(backend, filter), bias == null ? 0 : ptr(backend, bias), ptr(backend, out),
      info.batchSize, info.inHeight, info.inWidth, c, info.outHeight, info.outWidth, s, d, top, left, lo, hi,
    );
    return out;
  }
  simd.dw3x3(
    ptr(backend, x), ptr(backend, filter), bias == null ? 0 : ptr(backend, bias), ptr(backend, out),
    info.batchSize, info.inHeight, info.inWidth, c, info.outHeight, info.outWidth, s, d, top, left, xlo, xhi, lo, hi,
  );
  return out;
}

/** DepthwiseConv2dNative for the wasm backend: 3x3 through {@link depthwise3x3}, the rest through the stock kernel. */
export function wasmDepthwiseConv2d(stock: KernelFunc | undefined): KernelFunc {
  return orStock('DepthwiseConv2dNative', stock, (args) => {
    const { x, filter } = args.inputs;
    const a = args.attrs as {
      strides: number | [number, number];
      pad: backend_util.ExplicitPadding | 'same' | 'valid' | number;
      dilations?: number | [number, number];
      dataFormat?: string;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    if (x == null || filter == null || (a.dataFormat != null && a.dataFormat !== 'NHWC')) return undefined;
    return depthwise3x3(args.backend as unknown as BackendWasm, x, filter, null, a.strides, a.dilations, a.pad, 'linear', a.dimRoundingMode);
  });
}
