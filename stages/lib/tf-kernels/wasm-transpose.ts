import type { KernelBackend, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Transpose for the wasm backend when it amounts to swapping two blocks of
 * axes (a matrix transpose once size-1 axes are dropped and axes that stay
 * adjacent are merged), done in tiles. The stock kernel walks the output
 * with a stride of a whole row of the input; when that stride is a power of
 * two (8192 pixels: every 1x1 layer's filter gradient transposes
 * [pixels, channels]) each write lands in the same cache set, and an
 * [8192, 112] transpose took 20 ms where tiles take under 2. Other
 * permutations go to the stock kernel, which is passed in.
 */

/** The rows and columns of the equivalent matrix transpose, or null if `perm` is not one. */
export function asMatrixTranspose(shape: readonly number[], perm: readonly number[]): { rows: number; cols: number } | null {
  // Drop size-1 axes (they do not move data), renumbering the rest.
  const kept = perm.filter((p) => shape[p] !== 1);
  const order = [...kept].sort((a, b) => a - b);
  const rank = kept.map((p) => order.indexOf(p));
  const dims = order.map((p) => shape[p]!);
  // Merge runs that stay adjacent and in order in the output.
  const blocks: number[][] = [];
  for (const r of rank) {
    const last = blocks[blocks.length - 1];
    if (last != null && last[last.length - 1]! + 1 === r) last.push(r);
    else blocks.push([r]);
  }
  if (blocks.length !== 2 || blocks[0]![0] === 0) return null;
  const size = (b: number[]) => b.reduce((a, r) => a * dims[r]!, 1);
  // Output is [block0, block1] where block1 holds the input's leading axes.
  return { rows: size(blocks[1]!), cols: size(blocks[0]!) };
}

type Heap = Float32Array | Int32Array | Uint8Array;

/** out[j * rows + i] = x[i * cols + j], in 32 x 8 tiles (a 64-byte line of output per row of a tile). */
export function transposeTiled(x: Heap, out: Heap, rows: number, cols: number): void {
  const BI = 32;
  const BJ = 8;
  for (let i0 = 0; i0 < rows; i0 += BI) {
    const i1 = Math.min(rows, i0 + BI);
    for (let j0 = 0; j0 < cols; j0 += BJ) {
      const j1 = Math.min(cols, j0 + BJ);
      for (let j = j0; j < j1; j++) {
        const o = j * rows;
        for (let i = i0; i < i1; i++) out[o + i] = x[i * cols + j]!;
      }
    }
  }
}

export function wasmTranspose(stock: KernelFunc | undefined): KernelFunc {
  return ((args: { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs?: unknown }): TensorInfo | TensorInfo[] => {
    const x = args.inputs.x;
    const { perm } = args.attrs as { perm: number[] };
    const m = x == null || x.dtype === 'string' || x.dtype === 'complex64' ? null : asMatrixTranspose(x.shape, perm);
    if (x == null || m == null) {
      if (stock == null) throw new Error('tf-kernels: no stock Transpose for this input');
      return stock(args as Parameters<KernelFunc>[0]);
    }
    const backend = args.backend as unknown as BackendWasm;
    const out = backend.makeOutput(perm.map((p) => x.shape[p]!), x.dtype);
    transposeTiled(backend.typedArrayFromHeap(x) as Heap, backend.typedArrayFromHeap(out) as Heap, m.rows, m.cols);
    return out;
  }) as unknown as KernelFunc;
}
