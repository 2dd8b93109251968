import type * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** Where a backend keeps float32 data, and how it makes outputs. */
export interface Store {
  read(t: tf.TensorInfo): Float32Array;
  /** Allocates outputs, then hands their arrays (views stay valid until the next allocation). */
  outputs(shapes: number[][]): { infos: tf.TensorInfo[]; arrays: Float32Array[]; finish(): void };
}

export function wasmStore(b: tf.KernelBackend): Store {
  const backend = b as unknown as BackendWasm;
  return {
    read: (t) => backend.typedArrayFromHeap(t) as Float32Array,
    outputs(shapes) {
      // Allocate everything first: an allocation can grow (and move) the heap.
      const infos = shapes.map((s) => backend.makeOutput(s, 'float32'));
      return { infos, arrays: infos.map((t) => backend.typedArrayFromHeap(t) as Float32Array), finish: () => {} };
    },
  };
}

export function cpuStore(b: tf.KernelBackend): Store {
  const backend = b as unknown as MathBackendCPU;
  return {
    read: (t) => backend.data.get(t.dataId).values as Float32Array,
    outputs(shapes) {
      const arrays = shapes.map((s) => new Float32Array(s.reduce((a, d) => a * d, 1)));
      const infos: tf.TensorInfo[] = [];
      return {
        infos,
        arrays,
        finish: () => shapes.forEach((s, i) => infos.push(backend.makeTensorInfo(s, 'float32', arrays[i]))),
      };
    },
  };
}

/** The store of whichever of the two backends `b` is (the wasm backend reads its heap). */
export function storeOf(b: tf.KernelBackend): Store {
  return 'typedArrayFromHeap' in b ? wasmStore(b) : cpuStore(b);
}

/** What tfjs passes a kernel function (its own KernelFunc type names the backend loosely). */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: unknown;
}

/**
 * Our kernel for `name` in front of the backend's stock one: `ours` returns
 * undefined for inputs it does not handle (a layout, dtype or shape it has no
 * loop for), and those go to `stock`, captured when ours was installed.
 */
export function orStock(name: string, stock: tf.KernelFunc | undefined, ours: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] | undefined): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const y = ours(args);
    if (y !== undefined) return y;
    if (stock == null) throw new Error(`tf-kernels: no stock ${name} kernel for this input`);
    return stock(args as Parameters<tf.KernelFunc>[0]);
  }) as unknown as tf.KernelFunc;
}

/** The named float32 inputs of kernel `kernel`, in order; a missing one or another dtype is an error. */
export function floatInputs(inputs: tf.NamedTensorInfoMap, names: readonly string[], kernel: string): tf.TensorInfo[] {
  return names.map((k) => {
    const t = inputs[k];
    if (t == null) throw new Error(`tf-kernels: ${kernel} needs input ${k}`);
    if (t.dtype !== 'float32') throw new Error(`tf-kernels: ${kernel} supports float32 only (${k} is ${t.dtype})`);
    return t;
  });
}
