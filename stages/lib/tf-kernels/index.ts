// Placeholder until the training kernels land (issue 7): registering nothing
// leaves tfjs's own kernels in place, which is correct, only slow.
/** Registers gradient kernels the WebAssembly backend lacks. */
export function registerWasmTrainingKernels(): void {}
/** Registers a fast Conv2DBackpropFilter (and friends) for the plain CPU backend. */
export function registerFastCpuKernels(): void {}
