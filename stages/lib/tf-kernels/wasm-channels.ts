import { backend_util, util, type KernelBackend, type KernelFunc, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ptr, simdKernels } from './wasm-simd.ts';

/**
 * Concat and SplitV along the last axis (channels: DeepLab's ASPP and decoder
 * concatenations, and their gradients) for the wasm backend, as plain loops.
 * The stock Concat copies one `subarray` per pixel and input (a typed-array
 * object each, garbage by the ten thousand), the stock SplitV runs a Slice
 * kernel per part. Other axes and dtypes go to the stock kernels, passed in.
 * The rows are copied by the SIMD module's `copy_rows` (memory.copy) where it
 * runs: the loops below read the heap through a typed array of any of three
 * kinds, which keeps V8 from specialising them (~10 ns per value).
 */

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

type Heap = Float32Array | Int32Array | Uint8Array;

interface Args {
  inputs: NamedTensorInfoMap;
  backend: KernelBackend;
  attrs?: unknown;
}

function plain(t: TensorInfo): boolean {
  return t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool';
}

export function wasmConcat(stock: KernelFunc | undefined): KernelFunc {
  return ((args: Args): TensorInfo | TensorInfo[] => {
    const inputs = Object.values(args.inputs) as TensorInfo[];
    const first = inputs[0];
    const rank = first?.shape.length ?? 0;
    const axis = first == null ? -1 : util.parseAxisParam((args.attrs as { axis: number }).axis, first.shape)[0];
    const ok = first != null && rank > 1 && axis === rank - 1 && inputs.length > 1 && inputs.every((t) => plain(t) && t.dtype === first.dtype && util.sizeFromShape(t.shape) > 0);
    if (!ok) {
      if (stock == null) throw new Error('tf-kernels: no stock Concat for this input');
      return stock(args as Parameters<KernelFunc>[0]);
    }
    const backend = args.backend as unknown as BackendWasm;
    const outShape = backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
    const out = backend.makeOutput(outShape, first.dtype);
    // Views after the allocation (it may grow the heap).
    const dst = backend.typedArrayFromHeap(out) as Heap;
    const total = outShape[axis]!;
    const rows = util.sizeFromShape(outShape) / total;
    let offset = 0;
    const simd = simdKernels(backend);
    if (simd != null) {
      const size = BYTES[first.dtype]!;
      for (const t of inputs) {
        const c = t.shape[axis]!;
        simd.copy_rows(ptr(backend, t), c * size, ptr(backend, out) + offset * size, total * size, rows, c * size);
        offset += c;
      }
      return out;
    }
    for (const t of inputs) {
      const src = backend.typedArrayFromHeap(t) as Heap;
      const c = t.shape[axis]!;
      for (let r = 0; r < rows; r++) {
        const s = r * c;
        const d = r * total + offset;
        for (let k = 0; k < c; k++) dst[d + k] = src[s + k]!;
      }
      offset += c;
    }
    return out;
  }) as unknown as KernelFunc;
}

export function wasmSplitV(stock: KernelFunc | undefined): KernelFunc {
  return ((args: Args): TensorInfo | TensorInfo[] => {
    const x = args.inputs.x;
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number[] | number; axis: number };
    const rank = x?.shape.length ?? 0;
    const ax = x == null ? -1 : util.parseAxisParam(axis, x.shape)[0];
    if (x == null || rank < 2 || ax !== rank - 1 || !plain(x) || util.sizeFromShape(x.shape) === 0) {
      if (stock == null) throw new Error('tf-kernels: no stock SplitV for this input');
      return stock(args as Parameters<KernelFunc>[0]);
    }
    const backend = args.backend as unknown as BackendWasm;
    const sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, ax);
    const outs = sizes.map((s) => backend.makeOutput([...x.shape.slice(0, -1), s], x.dtype));
    const total = x.shape[ax]!;
    const rows = util.sizeFromShape(x.shape) / total;
    let offset = 0;
    const simd = simdKernels(backend);
    if (simd != null) {
      const size = BYTES[x.dtype]!;
      outs.forEach((out, i) => {
        const c = sizes[i]!;
        simd.copy_rows(ptr(backend, x) + offset * size, total * size, ptr(backend, out), c * size, rows, c * size);
        offset += c;
      });
      return outs;
    }
    const src = backend.typedArrayFromHeap(x) as Heap;
    outs.forEach((out, i) => {
      const c = sizes[i]!;
      const dst = backend.typedArrayFromHeap(out) as Heap;
      for (let r = 0; r < rows; r++) {
        const s = r * total + offset;
        const d = r * c;
        for (let k = 0; k < c; k++) dst[d + k] = src[s + k]!;
      }
      offset += c;
    });
    return outs;
  }) as unknown as KernelFunc;
}
