import { backend_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { copyRuns } from './wasm-simd.ts';
import { orStock } from './stores.ts';

/**
 * Concat and SplitV along the last axis (channels: DeepLab's ASPP and decoder
 * concatenations, and their gradients) for the wasm backend, as plain loops.
 * The stock Concat copies one `subarray` per pixel and input (a typed-array
 * object each, garbage by the ten thousand), the stock SplitV runs a Slice
 * kernel per part. Other axes and dtypes go to the stock kernels, passed in.
 * Rows are copied by {@link copyRuns} (memory.copy): element loops over a
 * typed array of any of three kinds kept V8 from specialising them (~10 ns per value).
 */

function plain(t: TensorInfo): boolean {
  return t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool';
}

export function wasmConcat(stock: KernelFunc | undefined): KernelFunc {
  return orStock('Concat', stock, (args) => {
    const inputs = Object.values(args.inputs) as TensorInfo[];
    const first = inputs[0];
    const rank = first?.shape.length ?? 0;
    const axis = first == null ? -1 : util.parseAxisParam((args.attrs as { axis: number }).axis, first.shape)[0];
    const ok = first != null && rank > 1 && axis === rank - 1 && inputs.length > 1 && inputs.every((t) => plain(t) && t.dtype === first.dtype && util.sizeFromShape(t.shape) > 0);
    if (!ok) return undefined;
    const backend = args.backend as unknown as BackendWasm;
    const outShape = backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
    const out = backend.makeOutput(outShape, first.dtype);
    const total = outShape[axis]!;
    const rows = util.sizeFromShape(outShape) / total;
    let offset = 0;
    for (const t of inputs) {
      const c = t.shape[axis]!;
      copyRuns(backend, t, 0, c, out, offset, total, rows, c);
      offset += c;
    }
    return out;
  });
}

export function wasmSplitV(stock: KernelFunc | undefined): KernelFunc {
  return orStock('SplitV', stock, (args) => {
    const x = args.inputs.x;
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number[] | number; axis: number };
    const rank = x?.shape.length ?? 0;
    const ax = x == null ? -1 : util.parseAxisParam(axis, x.shape)[0];
    if (x == null || rank < 2 || ax !== rank - 1 || !plain(x) || util.sizeFromShape(x.shape) === 0) return undefined;
    const backend = args.backend as unknown as BackendWasm;
    const sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, ax);
    const outs = sizes.map((s) => backend.makeOutput([...x.shape.slice(0, -1), s], x.dtype));
    const total = x.shape[ax]!;
    const rows = util.sizeFromShape(x.shape) / total;
    let offset = 0;
    outs.forEach((out, i) => {
      const c = sizes[i]!;
      copyRuns(backend, x, offset, total, out, 0, c, rows, c);
      offset += c;
    });
    return outs;
  });
}
