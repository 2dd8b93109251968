import * as tf from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels } from '../stages/lib/tf-kernels/index.ts';
import { prodSetup } from './prod-model.ts';
import { initBackends } from './train-step-backends.ts';
await initBackends(); await tf.setBackend('wasm'); registerWasmTrainingKernels();
const s = prodSetup(256, 2);
s.step(); s.infer();
for (let i = 0; i < 4; i++) { const t0 = performance.now(); s.infer(); const t1 = performance.now(); s.step(); console.log('infer', (t1 - t0).toFixed(0), 'step', (performance.now() - t1).toFixed(0)); }
