import type { KernelBackend, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Identity for the wasm backend that shares the input's data (one more
 * reference) instead of copying it, as the CPU backend's Identity and the wasm
 * backend's own Reshape do. tfjs's engine runs Identity on every tensor it
 * saves for the backward pass (Engine.clone), so the stock copying kernel was
 * about a fifth of a training step. Sharing is safe because tfjs never writes
 * into a tensor's data after creating it (Variable.assign swaps the data id).
 * Strings keep the stock kernel.
 */
export function wasmIdentity(stock: KernelFunc | undefined): KernelFunc {
  return ((args: { inputs: NamedTensorInfoMap; backend: KernelBackend }): TensorInfo | TensorInfo[] => {
    const x = args.inputs.x;
    if (x == null) throw new Error('tf-kernels: Identity needs input x');
    if (x.dtype === 'string') {
      if (stock == null) throw new Error('tf-kernels: no stock Identity for strings');
      return stock(args as Parameters<KernelFunc>[0]);
    }
    (args.backend as unknown as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }) as unknown as KernelFunc;
}
