import {
  backend_util,
  type Conv2DBackpropInputAttrs,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelBackend,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendCalls, view } from './backend-calls.ts';
import { inputGradAxis, type InputGradAxis } from './conv-geometry.ts';
import { copyRuns, ptr, simdKernels } from './wasm-simd.ts';
import { pointwiseInputGrad } from './wasm-gemm.ts';

/**
 * Input gradients on the wasm backend as one stride-1 forward convolution of
 * the output gradient with the flipped filter. A strided layer's output
 * gradient is first stuffed with zeros (stride-1 between samples) so the
 * transposed convolution becomes a plain one; XNNPACK then does the work.
 */

type Info = backend_util.Conv2DInfo;

function needInputs(inputs: NamedTensorInfoMap, kernel: string): { dy: TensorInfo; filter: TensorInfo } {
  const { dy, filter } = inputs;
  if (dy == null || filter == null) throw new Error(`tf-kernels: ${kernel} needs inputs dy and filter`);
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') throw new Error(`tf-kernels: ${kernel} supports float32 only`);
  return { dy, filter };
}

/**
 * The output gradient (channels last) laid out for a 'valid' stride-1
 * correlation: either the tensor itself plus explicit padding (stride 1, no
 * cropping), or a new zero-stuffed, padded buffer.
 */
function layOut(
  calls: BackendCalls,
  backend: BackendWasm,
  dy: TensorInfo,
  info: Info,
  rows: InputGradAxis,
  cols: InputGradAxis,
): { input: TensorInfo; pad: number[][] } {
  const { batchSize: n, outHeight: ho, outWidth: wo, outChannels: c, strideHeight: sh, strideWidth: sw } = info;
  const rowsAfter = rows.length - rows.offset - ho;
  const colsAfter = cols.length - cols.offset - wo;
  if (sh === 1 && sw === 1 && rows.offset >= 0 && cols.offset >= 0 && rowsAfter >= 0 && colsAfter >= 0) {
    return { input: dy, pad: [[0, 0], [rows.offset, rowsAfter], [cols.offset, colsAfter], [0, 0]] };
  }
  const out = calls.track(backend.makeOutput([n, rows.length, cols.length, c], 'float32'));
  (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
  // Output-gradient columns x whose place cols.offset + x*sw falls inside the laid-out row.
  const x0 = cols.offset >= 0 ? 0 : Math.ceil(-cols.offset / sw);
  const count = Math.max(0, Math.min(wo, Math.ceil((cols.length - cols.offset) / sw)) - x0);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < ho; y++) {
      const p = rows.offset + y * sh;
      if (p < 0 || p >= rows.length) continue;
      copyRuns(backend, dy, ((b * ho + y) * wo + x0) * c, c, out, ((b * rows.length + p) * cols.length + cols.offset + x0 * sw) * c, sw * c, count, c);
    }
  }
  return { input: out, pad: [[0, 0], [0, 0], [0, 0], [0, 0]] };
}

/**
 * The filter [kh, kw, ...] with its taps in reverse order. A 1x1 filter is its
 * own flip; otherwise whole [...] slabs are copied (wasm's Reverse kernel
 * walks element by element: 4 ms for a [1,1,160,960] filter, 6% of a step).
 */
function flipTaps(calls: BackendCalls, backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [kh = 1, kw = 1] = filter.shape;
  const taps = kh * kw;
  if (taps === 1) return filter;
  const out = calls.track(backend.makeOutput(filter.shape, 'float32'));
  const src = backend.typedArrayFromHeap(filter) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const slab = src.length / taps;
  for (let t = 0; t < taps; t++) dst.set(src.subarray(t * slab, (t + 1) * slab), (taps - 1 - t) * slab);
  return out;
}

/** Conv2DBackpropInput for the wasm backend (replaces its scalar C++ loop). */
export function wasmConv2DBackpropInput(args: {
  inputs: NamedTensorInfoMap;
  backend: KernelBackend;
  attrs?: unknown;
}): TensorInfo {
  const backend = args.backend as unknown as BackendWasm;
  const { dy, filter } = needInputs(args.inputs, 'Conv2DBackpropInput');
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  const info = backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, format);
  const channelsLast = info.dataFormat === 'channelsLast';
  const pointwise =
    channelsLast && info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.padInfo.top === 0 && info.padInfo.left === 0 && info.outHeight === info.inHeight && info.outWidth === info.inWidth;
  if (pointwise) {
    // Every 1x1 layer of MobileNetV2: one GEMM with the filter packed from its transpose.
    const dx = pointwiseInputGrad(backend, dy, filter);
    if (dx != null) return dx;
  }
  const calls = new BackendCalls(args.backend, 'wasm');
  try {
    const dyl = calls.transpose(dy, channelsLast ? [0, 1, 2, 3] : [0, 2, 3, 1]);
    const rows = inputGradAxis(info.inHeight, info.padInfo.top, info.filterHeight, info.dilationHeight);
    const cols = inputGradAxis(info.inWidth, info.padInfo.left, info.filterWidth, info.dilationWidth);
    const { input, pad: explicit } = layOut(calls, backend, dyl, info, rows, cols);
    // W[kh, kw, Ci, Co] -> flipped, [kh, kw, Co, Ci]
    const w = calls.transpose(flipTaps(calls, backend, filter), [0, 1, 3, 2]);
    const dx = calls.run('Conv2D', { x: input, filter: w }, {
      strides: [1, 1],
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: explicit,
      dataFormat: 'NHWC',
    });
    return calls.keep(calls.transpose(dx, channelsLast ? [0, 1, 2, 3] : [0, 3, 1, 2]));
  } finally {
    calls.dispose();
  }
}

/** DepthwiseConv2dNativeBackpropInput for the wasm backend. */
export function wasmDepthwiseBackpropInput(args: {
  inputs: NamedTensorInfoMap;
  backend: KernelBackend;
  attrs?: unknown;
}): TensorInfo {
  const backend = args.backend as unknown as BackendWasm;
  const { dy, filter } = needInputs(args.inputs, 'DepthwiseConv2dNativeBackpropInput');
  const { strides, dilations, pad, dimRoundingMode, inputShape } =
    args.attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const info = backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, dilations ?? 1, pad, dimRoundingMode, true);
  const simd =
    info.outChannels === info.inChannels && info.inChannels % 4 === 0 && info.filterHeight === 3 && info.filterWidth === 3 &&
    info.strideHeight === info.strideWidth && info.strideHeight > 1 && info.dilationHeight === info.dilationWidth
      ? simdKernels(backend)
      : undefined;
  if (simd != null) {
    // Strided 3x3 layers (MobileNetV2's downsampling depthwise convs): dy's taps added
    // straight into dx rows, no zero-stuffed copy of dy 4x its size to convolve.
    const dx = backend.makeOutput(info.inShape, 'float32');
    simd.dw3x3_input_grad(
      ptr(backend, dy), ptr(backend, filter), ptr(backend, dx), info.batchSize, info.inHeight, info.inWidth, info.inChannels,
      info.outHeight, info.outWidth, info.strideHeight, info.dilationHeight, info.padInfo.top, info.padInfo.left,
    );
    return dx;
  }
  const calls = new BackendCalls(args.backend, 'wasm');
  try {
    const rows = inputGradAxis(info.inHeight, info.padInfo.top, info.filterHeight, info.dilationHeight);
    const cols = inputGradAxis(info.inWidth, info.padInfo.left, info.filterWidth, info.dilationWidth);
    const { input, pad: explicit } = layOut(calls, backend, dy, info, rows, cols);
    const c = info.inChannels;
    const co = info.outChannels;
    const m = co / c;
    // W[kh, kw, C, m] flipped, one output per (c, k) pair; the k are summed after.
    const flipped = flipTaps(calls, backend, filter);
    const dx = calls.run('DepthwiseConv2dNative', { x: input, filter: view(flipped, [info.filterHeight, info.filterWidth, co, 1]) }, {
      strides: [1, 1],
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: explicit,
    });
    if (m === 1) return calls.keep(dx);
    const { batchSize: n, inHeight: h, inWidth: w } = info;
    return calls.keep(calls.run('Sum', { x: view(dx, [n, h, w, c, m]) }, { axis: [4], keepDims: false }));
  } finally {
    calls.dispose();
  }
}
