import {
  backend_util,
  type Conv2DBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type KernelBackend,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendCalls, view } from './backend-calls.ts';
import { filterGradAxis } from './conv-geometry.ts';
import { conv2dFilterGrad, depthwiseFilterGrad, type ConvGeometry } from './filter-grad-loops.ts';
import { ptr, simdKernels, sumScratch } from './wasm-simd.ts';

/**
 * Filter gradients on the wasm backend as ONE forward convolution each, so
 * XNNPACK's packed GEMM kernels do the work.
 *
 * dW[i,j,c,o] = sum_{n,y,x} xpad[n, y*s + i*d, x*s + j*d, c] * dy[n,y,x,o] is a
 * forward convolution whose batch is the input channel c, whose input channels
 * are the batch n, and whose filter is dy laid out [Ho, Wo, n, o], taps `s`
 * apart (dilation = the layer's stride) and output samples `d` apart (stride =
 * the layer's dilation). The input is cut or padded so the output is exactly
 * the kh x kw filter (see filterGradAxis).
 */

type Info = backend_util.Conv2DInfo;

/**
 * Largest filter (kh*kw*cin*cout values) whose gradient the SIMD loop
 * accumulates: up to here the slab stays in L2 and the loop beats XNNPACK's
 * GEMM (whose inner dimension is every pixel); above it XNNPACK is faster.
 */
const SIMD_SLAB_LIMIT = 16384;

/** Geometry record for the loop fallbacks. */
export function geometryOf(info: Info): ConvGeometry {
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

function heap(backend: BackendWasm, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

function needInputs(inputs: NamedTensorInfoMap, kernel: string): { x: TensorInfo; dy: TensorInfo } {
  const { x, dy } = inputs;
  if (x == null || dy == null) throw new Error(`tf-kernels: ${kernel} needs inputs x and dy`);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error(`tf-kernels: ${kernel} supports float32 only`);
  return { x, dy };
}

/**
 * Lays x out as the forward convolution's input: `perm` moves channels to the
 * batch axis and the batch to the channel axis, then the unused tail is cut.
 */
function planInput(info: Info) {
  const rows = filterGradAxis(info.inHeight, info.padInfo.top, info.outHeight, info.strideHeight, info.filterHeight, info.dilationHeight);
  const cols = filterGradAxis(info.inWidth, info.padInfo.left, info.outWidth, info.strideWidth, info.filterWidth, info.dilationWidth);
  return rows == null || cols == null ? null : { rows, cols };
}

/** Conv2DBackpropFilter for the wasm backend. */
export function wasmConv2DBackpropFilter(args: {
  inputs: NamedTensorInfoMap;
  backend: KernelBackend;
  attrs?: unknown;
}): TensorInfo {
  const backend = args.backend as unknown as BackendWasm;
  const { x, dy } = needInputs(args.inputs, 'Conv2DBackpropFilter');
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, format);
  const channelsLast = info.dataFormat === 'channelsLast';
  const plan = planInput(info);
  const calls = new BackendCalls(args.backend, 'wasm');
  try {
    const pointwise =
      info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
      info.padInfo.top === 0 && info.padInfo.left === 0 && info.outHeight === info.inHeight && info.outWidth === info.inWidth;
    const pwSimd = channelsLast && pointwise && info.inChannels % 4 === 0 && info.outChannels % 8 === 0 ? simdKernels(backend) : undefined;
    if (pwSimd != null) {
      // 1x1, stride 1 (every 1x1 layer of MobileNetV2): x^T dy over all pixels in 4 x 8 register
      // tiles (pw_filter_grad), ~5x the rank-1 loop below and no transposes for the GEMM route.
      const sums = sumScratch(calls, backend, info.inChannels * info.outChannels);
      pwSimd.pw_filter_grad(ptr(backend, x), ptr(backend, dy), sums.a64, info.batchSize * info.inHeight * info.inWidth, info.inChannels, info.outChannels);
      const out = backend.makeOutput(info.filterShape, 'float32');
      heap(backend, out).set(sums.totals());
      return out;
    }
    const slab = info.filterHeight * info.filterWidth * info.inChannels * info.outChannels;
    const simd = channelsLast && info.outChannels % 4 === 0 && slab <= SIMD_SLAB_LIMIT ? simdKernels(backend) : undefined;
    if (simd != null) {
      // Small filters (few channels, many pixels: the stem, the early 1x1 layers) as rank-1
      // updates of a cached slab; XNNPACK packed them as a GEMM with a huge inner dimension
      // (all pixels) and ran at 1-2 GFLOP/s, plus transposes.
      const sums = sumScratch(calls, backend, slab);
      simd.conv_filter_grad(
        ptr(backend, x), ptr(backend, dy), sums.a32, sums.a64, info.batchSize, info.inHeight, info.inWidth, info.inChannels,
        info.outHeight, info.outWidth, info.outChannels, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
        info.padInfo.top, info.padInfo.left,
      );
      const out = backend.makeOutput(info.filterShape, 'float32');
      heap(backend, out).set(sums.totals());
      return out;
    }
    if (plan == null) {
      // Padding alone covers some taps: rare explicit paddings. Loop instead.
      const xl = calls.transpose(x, channelsLast ? [0, 1, 2, 3] : [0, 2, 3, 1]);
      const dyl = calls.transpose(dy, channelsLast ? [0, 1, 2, 3] : [0, 2, 3, 1]);
      const values = conv2dFilterGrad(heap(backend, xl), heap(backend, dyl), geometryOf(info));
      return backend.makeOutput(info.filterShape, 'float32', undefined, values);
    }
    if (info.filterHeight === 1 && info.filterWidth === 1 && channelsLast && info.padInfo.top === 0 && info.padInfo.left === 0) {
      return calls.keep(pointwiseFilterGrad(calls, x, dy, info));
    }
    const { rows, cols } = plan;
    // [Ci, H, W, N]
    let input = calls.transpose(x, channelsLast ? [3, 1, 2, 0] : [1, 2, 3, 0]);
    if (rows.keep < info.inHeight || cols.keep < info.inWidth) {
      input = calls.run('Slice', { x: input }, {
        begin: [0, 0, 0, 0],
        size: [info.inChannels, rows.keep, cols.keep, info.batchSize],
      });
    }
    // [Ho, Wo, N, Co]
    const filter = calls.transpose(dy, channelsLast ? [1, 2, 0, 3] : [2, 3, 0, 1]);
    const grad = calls.run('Conv2D', { x: input, filter }, {
      strides: [info.dilationHeight, info.dilationWidth],
      dilations: [info.strideHeight, info.strideWidth],
      pad: [[0, 0], [rows.padBefore, rows.padAfter], [cols.padBefore, cols.padAfter], [0, 0]],
      dataFormat: 'NHWC',
    });
    // [Ci, kh, kw, Co] -> [kh, kw, Ci, Co]
    return calls.keep(calls.transpose(grad, [1, 2, 0, 3]));
  } finally {
    calls.dispose();
  }
}

/**
 * A 1x1 layer's filter gradient is the matrix product x^T dy over all pixels.
 * Written as a 1x1 convolution (batch Ci, channels = pixels) XNNPACK runs it as
 * one GEMM; the general path would make it a huge-kernel convolution, 4x slower.
 */
function pointwiseFilterGrad(calls: BackendCalls, x: TensorInfo, dy: TensorInfo, info: Info): TensorInfo {
  const { batchSize: n, outHeight: ho, outWidth: wo, inChannels: ci, outChannels: co } = info;
  let used = x;
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.inHeight !== ho || info.inWidth !== wo) {
    // The pixels a strided 1x1 layer reads.
    used = calls.run('StridedSlice', { x }, {
      begin: [0, 0, 0, 0],
      end: [n, (ho - 1) * info.strideHeight + 1, (wo - 1) * info.strideWidth + 1, ci],
      strides: [1, info.strideHeight, info.strideWidth, 1],
      beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
    });
  }
  const pixels = n * ho * wo;
  const xt = calls.transpose(view(used, [pixels, ci]), [1, 0]);
  const grad = calls.run('Conv2D', { x: view(xt, [ci, 1, 1, pixels]), filter: view(dy, [1, 1, pixels, co]) }, {
    strides: [1, 1], dilations: [1, 1], pad: 'valid', dataFormat: 'NHWC',
  });
  return calls.run('Reshape', { x: grad }, { shape: [1, 1, ci, co] });
}

/**
 * DepthwiseConv2dNativeBackpropFilter for the wasm backend: the same trick with
 * a depthwise convolution whose channels are (batch, channel) pairs and whose
 * channel multiplier is the layer's; the batch is summed afterwards.
 */
export function wasmDepthwiseBackpropFilter(args: {
  inputs: NamedTensorInfoMap;
  backend: KernelBackend;
  attrs?: unknown;
}): TensorInfo {
  const backend = args.backend as unknown as BackendWasm;
  const { x, dy } = needInputs(args.inputs, 'DepthwiseConv2dNativeBackpropFilter');
  const { strides, dilations, pad, dimRoundingMode, filterShape } =
    args.attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true);
  const plan = planInput(info);
  const calls = new BackendCalls(args.backend, 'wasm');
  try {
    if (plan == null) {
      const values = depthwiseFilterGrad(heap(backend, x), heap(backend, dy), geometryOf(info));
      return backend.makeOutput(info.filterShape, 'float32', undefined, values);
    }
    const n = info.batchSize;
    const c = info.inChannels;
    const co = info.outChannels;
    const m = co / c;
    const simd = m === 1 && c % 4 === 0 ? simdKernels(backend) : undefined;
    if (simd != null) {
      // The SIMD loop: nine taps of c channels accumulate in place. XNNPACK's
      // depthwise convolution with a whole feature map as its kernel (below)
      // ran at ~5 ns per multiply-add.
      const sums = sumScratch(calls, backend, info.filterHeight * info.filterWidth * c);
      if (info.filterHeight === 3 && info.filterWidth === 3 && info.strideHeight === info.strideWidth && info.dilationHeight === info.dilationWidth) {
        // 3x3 (every depthwise layer of MobileNetV2): row sums in registers, ~3x the loop below.
        simd.dw3x3_filter_grad(
          ptr(backend, x), ptr(backend, dy), sums.a64, n, info.inHeight, info.inWidth, c, info.outHeight, info.outWidth,
          info.strideHeight, info.dilationHeight, info.padInfo.top, info.padInfo.left,
        );
      } else simd.dw_filter_grad(
        ptr(backend, x), ptr(backend, dy), sums.a32, sums.a64, n, info.inHeight, info.inWidth, c, info.outHeight, info.outWidth,
        info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
        info.dilationHeight, info.dilationWidth,
      );
      const out = backend.makeOutput(info.filterShape, 'float32');
      heap(backend, out).set(sums.totals());
      return out;
    }
    const { rows, cols } = plan;
    // [1, H, W, N*C]: channel index n*C + c.
    let input = view(calls.transpose(x, [1, 2, 0, 3]), [1, info.inHeight, info.inWidth, n * c]);
    if (rows.keep < info.inHeight || cols.keep < info.inWidth) {
      input = calls.run('Slice', { x: input }, { begin: [0, 0, 0, 0], size: [1, rows.keep, cols.keep, n * c] });
    }
    // [Ho, Wo, N*C, m]: (n*C + c)*m + k is dy's channel c*m + k of batch n.
    const filter = view(calls.transpose(dy, [1, 2, 0, 3]), [info.outHeight, info.outWidth, n * c, m]);
    const grad = calls.run('DepthwiseConv2dNative', { x: input, filter }, {
      strides: [info.dilationHeight, info.dilationWidth],
      dilations: [info.strideHeight, info.strideWidth],
      pad: [[0, 0], [rows.padBefore, rows.padAfter], [cols.padBefore, cols.padAfter], [0, 0]],
    });
    const kh = info.filterHeight;
    const kw = info.filterWidth;
    if (n === 1) {
      // Same data, new shape: hand it back with its own reference.
      const out = calls.run('Reshape', { x: grad }, { shape: [kh, kw, c, m] });
      return calls.keep(out);
    }
    const summed = calls.run('Sum', { x: view(grad, [kh, kw, n, co]) }, { axis: [2], keepDims: false });
    return calls.keep(calls.run('Reshape', { x: summed }, { shape: [kh, kw, c, m] }));
  } finally {
    calls.dispose();
  }
}
