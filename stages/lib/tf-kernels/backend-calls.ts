import {
  getKernel,
  type KernelBackend,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/**
 * Runs other kernels of one backend from inside a kernel function and frees
 * every intermediate it made.
 *
 * Why not `engine().runKernel`: inside a kernel the engine is mid-call (tape,
 * profiler, tensor tracking); calling the backend's own kernel functions is how
 * tfjs's backends compose kernels (e.g. wasm's Sum calls its Transpose), and the
 * results are plain `TensorInfo`s that only the backend knows about.
 */
export class BackendCalls {
  private readonly made: TensorInfo[] = [];

  constructor(
    private readonly backend: KernelBackend,
    private readonly backendName: string,
  ) {}

  /** Runs `kernelName` on this backend; the result is freed by `dispose()` unless `keep`-ed. */
  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const config = getKernel(kernelName, this.backendName);
    if (config == null) {
      throw new Error(`tf-kernels: kernel ${kernelName} is not registered for backend ${this.backendName}`);
    }
    const out = config.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) throw new Error(`tf-kernels: ${kernelName} returned several outputs`);
    this.made.push(out);
    return out;
  }

  /** Tracks a tensor made by the caller (e.g. `backend.makeOutput`) so `dispose()` frees it. */
  track(t: TensorInfo): TensorInfo {
    this.made.push(t);
    return t;
  }

  /** Transposes `x` by `perm`, skipping the identity permutation. */
  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    if (perm.every((p, i) => p === i)) return x;
    return this.run('Transpose', { x }, { perm });
  }

  /** Excludes `t` from `dispose()`: it is the kernel's result. */
  keep(t: TensorInfo): TensorInfo {
    const i = this.made.indexOf(t);
    if (i >= 0) this.made.splice(i, 1);
    return t;
  }

  /** Frees every intermediate still held. */
  dispose(): void {
    for (const t of this.made.splice(0)) this.backend.disposeData(t.dataId);
  }
}

/**
 * A reshaped view of `t` sharing its data (no reference taken). Only for
 * passing to other kernels inside one kernel call; never return it or free it.
 */
export function view(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}
