/**
 * The WebAssembly build of Telea inpainting's disc sum (wasm/telea-sum.c,
 * sumDisc of inpaint-telea.ts compiled by clang), and the arrays it reads,
 * laid out in its memory. Loaded once per thread, synchronously (1.5 kB).
 */
import { TELEA_SUM_WASM } from './wasm/telea-sum.wasm.ts';

interface Exports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  setup(w: number, ew: number, eh: number, nw: number, range: number, t: number, img: number, grad: number, known: number, dst: number, half: number, acc: number): void;
  sum(i: number, j: number, Ti: number, gTx: number, gTy: number): void;
}

let loaded: Exports | undefined;

function kernel(): Exports {
  loaded ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(TELEA_SUM_WASM, 'base64')), {}).exports as unknown as Exports;
  return loaded;
}

/** What sumDisc reads, for one image (ext = the image grown by one pixel on each side, N = ext pixels). */
export interface TeleaArrays {
  /** Arrival times, N. */
  T: Float32Array;
  /** The image being filled, W x H x 3 (a copy of the input). */
  img: Uint8Array;
  /** Cached image gradients, 6 per ext pixel. */
  grad: Int16Array;
  /** Known-pixel bits, NW words per ext row (zeroed). */
  known: Int32Array;
  /** 1/|r|^3 per disc pixel. */
  dst: Float32Array;
  /** Half-width of each disc row. */
  half: Int32Array;
  /** The sums' result: Ia r,g,b, Jx r,g,b, Jy r,g,b, s. */
  acc: Float64Array;
}

export interface TeleaKernel {
  arrays: TeleaArrays;
  /** sumDisc(g, i, j, Ti, gTx, gTy, arrays.acc) in WebAssembly: the same sums, into arrays.acc. */
  sum(i: number, j: number, Ti: number, gTx: number, gTy: number): void;
}

/**
 * The arrays for inpainting one W x H image with disc `range` (of `discPixels`
 * pixels), in the kernel's memory (grown when too small, never shrunk), and
 * the kernel set up to read them. They stay valid until the next call on this
 * thread: the caller copies its result out before returning.
 */
export function teleaKernel(img: Uint8Array, W: number, H: number, range: number, discPixels: number): TeleaKernel {
  const k = kernel();
  const EW = W + 2;
  const EH = H + 2;
  const N = EW * EH;
  const NW = (EW + 31) >> 5;
  const sizes = [N * 4, W * H * 3, N * 12, EH * NW * 4, discPixels * 4, (2 * range + 1) * 4, 10 * 8];
  const offsets: number[] = [];
  let end = ((k.__heap_base.value as number) + 15) & ~15;
  for (const s of sizes) {
    offsets.push(end);
    end = (end + s + 15) & ~15;
  }
  const have = k.memory.buffer.byteLength;
  if (end > have) k.memory.grow(Math.ceil((end - have) / 65536));
  const buf = k.memory.buffer;
  const [oT, oImg, oGrad, oKnown, oDst, oHalf, oAcc] = offsets as [number, number, number, number, number, number, number];
  const arrays: TeleaArrays = {
    T: new Float32Array(buf, oT, N),
    img: new Uint8Array(buf, oImg, W * H * 3),
    grad: new Int16Array(buf, oGrad, N * 6),
    known: new Int32Array(buf, oKnown, EH * NW).fill(0),
    dst: new Float32Array(buf, oDst, discPixels),
    half: new Int32Array(buf, oHalf, 2 * range + 1),
    acc: new Float64Array(buf, oAcc, 10),
  };
  arrays.img.set(img);
  k.setup(W, EW, EH, NW, range, oT, oImg, oGrad, oKnown, oDst, oHalf, oAcc);
  return { arrays, sum: k.sum };
}
