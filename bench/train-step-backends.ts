/**
 * Brings up tfjs's CPU and WebAssembly backends in Node for the training-step
 * bench and the kernel tests, without fetching anything: the wasm binaries are
 * read from the installed package.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// tfjs-core's Node bundle registers no gradients; tfjs-layers' bundle carries
// and registers all of them (the union package @tensorflow/tfjs does the same).
import '@tensorflow/tfjs-layers';

let ready: Promise<void> | undefined;

/** Initialises both backends once per process; leaves 'cpu' active. */
export function initBackends(): Promise<void> {
  ready ??= (async () => {
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(dist + path.sep);
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
    if (!(await tf.setBackend('cpu'))) throw new Error('tfjs cpu backend failed to initialise');
    // The CPU backend prints an "install tfjs-node" banner on first use; tfjs-node cannot be installed here.
    (tf.findBackend('cpu') as unknown as { firstUse?: boolean }).firstUse = false;
  })();
  return ready;
}
