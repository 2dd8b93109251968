import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { BackendCalls } from './backend-calls.ts';
import { KERNELS_WASM_BASE64 } from './simd/kernels-wasm.ts';

/**
 * Our WebAssembly SIMD loops (simd/kernels.wat), instantiated on the wasm
 * backend's own memory: they read and write its tensors in place. One
 * instance per backend memory; undefined where the module cannot run there
 * (no SIMD, or the threaded build's shared memory), and callers then use
 * their JavaScript loops. Pointers are byte offsets into that memory.
 */
export interface SimdKernels {
  act_grad(y: number, dy: number, dz: number, a32: number, a64: number, rows: number, c: number, act: number): void;
  gn_sums(x: number, a32: number, a64: number, pixels: number, c: number): void;
  affine_act(x: number, scale: number, shift: number, y: number, pixels: number, c: number, act: number): void;
  gn_back1(x: number, dy: number, dz: number, scale: number, shift: number, a32: number, a64: number, pixels: number, c: number, act: number): void;
  affine3(dz: number, x: number, p: number, q: number, r: number, out: number, pixels: number, c: number): void;
  dw_filter_grad(
    x: number, dy: number, a32: number, a64: number, n: number, h: number, w: number, c: number, ho: number, wo: number,
    kh: number, kw: number, sh: number, sw: number, top: number, left: number, dh: number, dw: number,
  ): void;
  sgd_momentum(w: number, acc: number, g: number, wOut: number, accOut: number, n: number, momentum: number, wd: number, rate: number, decay: number): void;
  adam(
    w: number, m: number, v: number, g: number, wOut: number, mOut: number, vOut: number, n: number,
    b1: number, ob1: number, b2: number, ob2: number, eps: number, wd: number, step: number, decay: number,
  ): void;
  copy_rows(src: number, srcStride: number, dst: number, dstStride: number, rows: number, bytes: number): void;
  pack_panels(b: number, bp: number, k: number, n: number): void;
  pack_panels_t(w: number, bp: number, k: number, n: number): void;
  pw_filter_grad(x: number, dy: number, a64: number, pixels: number, ci: number, co: number): void;
  dw3x3(
    x: number, w: number, bias: number, y: number, n: number, h: number, wd: number, c: number, ho: number, wo: number,
    s: number, d: number, top: number, left: number, xlo: number, xhi: number, lo: number, hi: number,
  ): void;
  gemm_bias_act(a: number, bp: number, bias: number, c: number, m: number, k: number, n: number, lo: number, hi: number): void;
  dw3x3_filter_grad(
    x: number, dy: number, a64: number, n: number, h: number, w: number, c: number, ho: number, wo: number,
    s: number, d: number, top: number, left: number,
  ): void;
  dw3x3_input_grad(
    dy: number, w: number, dx: number, n: number, h: number, wd: number, c: number, ho: number, wo: number,
    s: number, d: number, top: number, left: number,
  ): void;
  dw3x3_taps(
    x: number, w: number, bias: number, y: number, n: number, h: number, wd: number, c: number, ho: number, wo: number,
    s: number, d: number, top: number, left: number, lo: number, hi: number,
  ): void;
  conv_filter_grad(
    x: number, dy: number, a32: number, a64: number, n: number, h: number, w: number, ci: number, ho: number, wo: number, co: number,
    kh: number, kw: number, sh: number, sw: number, top: number, left: number,
  ): void;
}

let compiled: WebAssembly.Module | null | undefined;
const instances = new WeakMap<WebAssembly.Memory, SimdKernels>();

function compile(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
    } catch {
      compiled = null; // no WebAssembly SIMD here
    }
  }
  return compiled;
}

/** The loops for this backend, or undefined where they cannot run on its memory. */
export function simdKernels(backend: BackendWasm): SimdKernels | undefined {
  const memory = (backend.wasm as unknown as { asm?: { memory?: WebAssembly.Memory } }).asm?.memory;
  if (memory == null || !(memory.buffer instanceof ArrayBuffer)) return undefined;
  const have = instances.get(memory);
  if (have) return have;
  const module = compile();
  if (module == null) return undefined;
  const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels;
  instances.set(memory, kernels);
  return kernels;
}

/** Byte offset of a tensor's data in the backend's memory. */
export function ptr(backend: BackendWasm, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
}

/**
 * Zeroed scratch in the backend's memory for a sum over `c` values: `a32`
 * (c floats, the loops' float32 lanes) and `a64` (c doubles, the totals),
 * freed with `calls`. `totals()` reads the doubles (valid until the next allocation).
 */
export function sumScratch(calls: BackendCalls, backend: BackendWasm, c: number): { a32: number; a64: number; totals(): Float64Array } {
  const t = calls.track(backend.makeOutput([3 * c + 2], 'float32'));
  const heap = backend.typedArrayFromHeap(t) as Float32Array;
  heap.fill(0);
  const base = ptr(backend, t);
  // Doubles 8-byte aligned (malloc gives at least that; c floats may not be).
  const a64 = (base + 4 * c + 7) & ~7;
  return { a32: base, a64, totals: () => new Float64Array((backend.typedArrayFromHeap(t) as Float32Array).buffer, a64, c) };
}

/** Float32 values copied into fresh scratch in the backend's memory; returns the pointer. */
export function scratchOf(calls: BackendCalls, backend: BackendWasm, values: ArrayLike<number>): number {
  const t = calls.track(backend.makeOutput([values.length], 'float32'));
  (backend.typedArrayFromHeap(t) as Float32Array).set(values);
  return ptr(backend, t);
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/**
 * Copies `count` runs of `len` elements from `from` (runs `fromStride`
 * elements apart, the first at element `fromAt`) to `to` (likewise): the
 * channel vectors of concatenations, splits, space-to-batch and zero
 * stuffing. One memory.copy per run in the SIMD module (a typed-array view
 * per run was most of those kernels' time, and garbage); typed arrays where it
 * cannot run. float32, int32 or bool tensors of one dtype.
 */
export function copyRuns(backend: BackendWasm, from: TensorInfo, fromAt: number, fromStride: number, to: TensorInfo, toAt: number, toStride: number, count: number, len: number): void {
  if (count <= 0 || len <= 0) return;
  const size = BYTES[from.dtype];
  if (size == null || to.dtype !== from.dtype) throw new Error(`tf-kernels: cannot copy ${from.dtype} to ${to.dtype}`);
  const simd = simdKernels(backend);
  if (simd != null) {
    simd.copy_rows(ptr(backend, from) + fromAt * size, fromStride * size, ptr(backend, to) + toAt * size, toStride * size, count, len * size);
    return;
  }
  const src = backend.typedArrayFromHeap(from);
  const dst = backend.typedArrayFromHeap(to) as Float32Array;
  for (let k = 0; k < count; k++) {
    const s = fromAt + k * fromStride;
    dst.set(src.subarray(s, s + len) as Float32Array, toAt + k * toStride);
  }
}
