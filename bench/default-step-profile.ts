/**
 * The default pipeline's training step (batch 4 of 96x96 crops, Adam, decoder stride 2, cross-entropy +
 * Lovász) on the wasm backend: mean ms per step over 20 steps after 5 warm-up steps, then time per kernel
 * (the least-disturbed of 5 profiled steps). Run it in two checkouts, alternating, to compare commits:
 *   node --import tsx bench/default-step-profile.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels } from '../stages/lib/tf-kernels/index.ts';
import { KernelProfiler, sumByKernel } from './kernel-profile.ts';
import { prodSetup } from './prod-model.ts';
import { initBackends } from './train-step-backends.ts';
import { trainStep } from '../stages/lib/tf/train-step.ts';
import { trainParams } from '../stages/train/params.ts';
await initBackends();
await tf.setBackend('wasm');
registerWasmTrainingKernels();
const p = trainParams.parse({ images: '-', labels: '-', list: '-', out: '-', optimizer: 'adam', lr: 0.003, decoderStride: Number(process.env.DS ?? 2), loss: process.env.LOSS ?? 'crossentropy+lovasz', batch: 4, crop: 96 });
const s = prodSetup(96, 4, p);
const step = () => trainStep(s.model, s.optimizer, s.images, s.labels, p.lr, undefined, p.loss);
for (let i = 0; i < 5; i++) step();
const t0 = performance.now(); for (let i = 0; i < 20; i++) step(); console.log('ms/step', ((performance.now() - t0) / 20).toFixed(1));
const prof = new KernelProfiler('wasm');
let best = Infinity; let rows: ReturnType<typeof sumByKernel> = [];
for (let r = 0; r < 5; r++) { prof.reset(); const w = prof.measure(() => void step()); if (w < best) { best = w; rows = sumByKernel(prof.byShape()); } }
const ink = rows.reduce((a, r) => a + r.ms, 0);
console.log('wall', best.toFixed(1), 'in kernels', ink.toFixed(1));
for (const r of rows.slice(0, 25)) console.log(r.kernel.padEnd(36), String(r.calls).padStart(5), r.ms.toFixed(1).padStart(7), (100 * r.ms / best).toFixed(1).padStart(5) + '%');
