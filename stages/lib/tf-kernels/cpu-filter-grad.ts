import {
  backend_util,
  type Conv2DBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type KernelBackend,
  type KernelFunc,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { conv2dFilterGrad, depthwiseFilterGrad } from './filter-grad-loops.ts';
import { geometryOf } from './wasm-filter-grads.ts';
import { orStock } from './stores.ts';

/**
 * Conv2DBackpropFilter for the plain CPU backend: the cache-friendly loop of
 * filter-grad-loops.ts over the backend's own arrays. Channels-first data (no
 * model here uses it) goes to the stock kernel, which is passed in.
 */
export function cpuConv2DBackpropFilter(stock: KernelFunc | undefined) {
  return orStock('Conv2DBackpropFilter', stock, (args) => {
    const backend = args.backend as unknown as MathBackendCPU;
    const { x, dy } = args.inputs;
    if (x == null || dy == null) throw new Error('tf-kernels: Conv2DBackpropFilter needs inputs x and dy');
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Conv2DBackpropFilterAttrs;
    const format = backend_util.convertConv2DDataFormat(dataFormat);
    if (format !== 'channelsLast' || x.dtype !== 'float32' || dy.dtype !== 'float32') return undefined;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, format);
    const xv = backend.data.get(x.dataId).values as Float32Array;
    const dyv = backend.data.get(dy.dataId).values as Float32Array;
    const values = conv2dFilterGrad(xv, dyv, geometryOf(info));
    return backend.makeTensorInfo(info.filterShape, 'float32', values);
  });
}

/**
 * DepthwiseConv2dNativeBackpropFilter for the plain CPU backend: the stock one
 * gathers through TensorBuffer.get per tap and channel (about 10 s for one
 * 128x128x96 layer at batch 2); this loop walks channels contiguously. Unlike
 * the stock kernel it honours dilations (tfjs's gradients never pass any).
 */
export function cpuDepthwiseBackpropFilter() {
  return (args: { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs?: unknown }): TensorInfo => {
    const backend = args.backend as unknown as MathBackendCPU;
    const { x, dy } = args.inputs;
    if (x == null || dy == null) throw new Error('tf-kernels: DepthwiseConv2dNativeBackpropFilter needs inputs x and dy');
    const { strides, dilations, pad, dimRoundingMode, filterShape } = args.attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true);
    const xv = floats(backend.data.get(x.dataId).values);
    const dyv = floats(backend.data.get(dy.dataId).values);
    return backend.makeTensorInfo(info.filterShape, 'float32', depthwiseFilterGrad(xv, dyv, geometryOf(info)));
  };
}

/** The CPU backend's values as float32 (int inputs are rare; they are converted). */
function floats(values: unknown): Float32Array {
  return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
}
