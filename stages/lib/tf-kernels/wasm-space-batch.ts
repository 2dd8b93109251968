import { type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { copyRuns } from './wasm-simd.ts';
import type { KernelArgs } from './stores.ts';

/**
 * SpaceToBatchND / BatchToSpaceND for 4-D channels-last tensors with a 2-D
 * block, as direct copies of channel vectors on the wasm heap. Atrous
 * convolutions are written with these (tfjs has no gradient for dilated
 * convolutions), and tfjs-backend-wasm composes them from pad, a 6-D transpose
 * and reshapes, which cost about 11% of a DeepLab training step. Other ranks go
 * to the stock kernel, which is passed in.
 */

/** The first index k >= 0 with k*step + first >= 0, and the count of those with k*step + first < limit, k < n. */
function span(first: number, step: number, limit: number, n: number): [number, number] {
  const k0 = first >= 0 ? 0 : Math.ceil(-first / step);
  const k1 = Math.min(n, Math.ceil((limit - first) / step));
  return [k0, Math.max(0, k1 - k0)];
}

/**
 * out[(i*bw + j)*N + n, y, x, :] = padded(x)[n, y*bh + i, x*bw + j, :] for each
 * (i, j) of the block; rows and columns from `mapRow`/`mapCol` (-1 = padding).
 */
function spaceToBatch(args: KernelArgs, stock: KernelFunc | undefined): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as BackendWasm;
  const x = args.inputs.x;
  const { blockShape, paddings } = args.attrs as { blockShape: number[]; paddings: number[][] };
  if (x == null || x.shape.length !== 4 || blockShape.length !== 2 || x.dtype === 'string' || x.dtype === 'complex64') {
    if (stock == null) throw new Error('tf-kernels: no stock SpaceToBatchND for this input');
    return stock(args as Parameters<KernelFunc>[0]);
  }
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [bh, bw] = blockShape as [number, number];
  const [[pt, pb], [pl, pr]] = paddings as [[number, number], [number, number]];
  const oh = (h + pt + pb) / bh;
  const ow = (w + pl + pr) / bw;
  const out = backend.makeOutput([bh * bw * n, oh, ow, c], x.dtype);
  if (pt + pb + pl + pr > 0) backend.typedArrayFromHeap(out).fill(0);
  for (let i = 0; i < bh; i++) {
    for (let j = 0; j < bw; j++) {
      // Output columns xx whose source column xx*bw + j - pl is inside x.
      const [x0, count] = span(j - pl, bw, w, ow);
      for (let b = 0; b < n; b++) {
        const ob = (i * bw + j) * n + b;
        for (let y = 0; y < oh; y++) {
          const sy = y * bh + i - pt;
          if (sy < 0 || sy >= h) continue;
          copyRuns(backend, x, ((b * h + sy) * w + x0 * bw + j - pl) * c, bw * c, out, ((ob * oh + y) * ow + x0) * c, c, count, c);
        }
      }
    }
  }
  return out;
}

/** The inverse: out[n, Y, X, :] = x[(i*bw + j)*N + n, y, x, :] with Y + cropTop = y*bh + i. */
function batchToSpace(args: KernelArgs, stock: KernelFunc | undefined): TensorInfo | TensorInfo[] {
  const backend = args.backend as unknown as BackendWasm;
  const x = args.inputs.x;
  const { blockShape, crops } = args.attrs as { blockShape: number[]; crops: number[][] };
  if (x == null || x.shape.length !== 4 || blockShape.length !== 2 || x.dtype === 'string' || x.dtype === 'complex64') {
    if (stock == null) throw new Error('tf-kernels: no stock BatchToSpaceND for this input');
    return stock(args as Parameters<KernelFunc>[0]);
  }
  const [nb, h, w, c] = x.shape as [number, number, number, number];
  const [bh, bw] = blockShape as [number, number];
  const [[ct, cb], [cl, cr]] = crops as [[number, number], [number, number]];
  const n = nb / (bh * bw);
  const oh = h * bh - ct - cb;
  const ow = w * bw - cl - cr;
  const out = backend.makeOutput([n, oh, ow, c], x.dtype);
  for (let i = 0; i < bh; i++) {
    for (let j = 0; j < bw; j++) {
      // Input columns xx whose output column xx*bw + j - cl is inside the output.
      const [x0, count] = span(j - cl, bw, ow, w);
      for (let b = 0; b < n; b++) {
        const ib = (i * bw + j) * n + b;
        for (let y = 0; y < h; y++) {
          const oy = y * bh + i - ct;
          if (oy < 0 || oy >= oh) continue;
          copyRuns(backend, x, ((ib * h + y) * w + x0) * c, c, out, ((b * oh + oy) * ow + x0 * bw + j - cl) * c, bw * c, count, c);
        }
      }
    }
  }
  return out;
}

/** Kernel functions falling back to `stock` for shapes they do not handle. */
export function wasmSpaceToBatchND(stock: KernelFunc | undefined): KernelFunc {
  return ((args: KernelArgs) => spaceToBatch(args, stock)) as unknown as KernelFunc;
}

/** See {@link wasmSpaceToBatchND}. */
export function wasmBatchToSpaceND(stock: KernelFunc | undefined): KernelFunc {
  return ((args: KernelArgs) => batchToSpace(args, stock)) as unknown as KernelFunc;
}
