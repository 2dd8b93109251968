/**
 * Where a training step's and an inference pass's time goes, per kernel, on
 * the wasm backend with our kernels (stages/lib/tf-kernels):
 *
 *   node --import tsx bench/train-step-profile.ts [--model prod|bench] [--size 256] [--batch 2] [--top 25]
 *
 * `prod` is the model the default pipeline trains (bench/prod-model.ts),
 * `bench` the DeepLab-like bench net (bench/train-step-model.ts). Prints
 * Markdown tables: time by kernel, the slowest kernel+shape rows, and the
 * time outside every kernel (tfjs dispatch, tape, gradient functions'
 * JavaScript, bookkeeping).
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels } from '../stages/lib/tf-kernels/index.ts';
import { KernelProfiler, type KernelRow } from './kernel-profile.ts';
import { prodSetup } from './prod-model.ts';
import { initBackends } from './train-step-backends.ts';
import { MOBILENET_V2_STAGES, SegNet, syntheticBatch } from './train-step-model.ts';

function arg(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : fallback;
}

function table(title: string, rows: KernelRow[], total: number, top: number, withShapes: boolean): string {
  const lines = [`${title}`, '', `| kernel${withShapes ? ' | input shapes' : ''} | calls | ms | % of wall |`, `| --- |${withShapes ? ' --- |' : ''} --- | --- | --- |`];
  for (const r of rows.slice(0, top)) {
    lines.push(`| ${r.kernel}${withShapes ? ` | ${r.shapes}` : ''} | ${r.calls} | ${r.ms.toFixed(1)} | ${((100 * r.ms) / total).toFixed(1)} |`);
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  const which = arg(argv, 'model', 'prod');
  const size = Number(arg(argv, 'size', '256'));
  const n = Number(arg(argv, 'batch', '2'));
  const top = Number(arg(argv, 'top', '25'));
  await initBackends();
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
  let step: () => void;
  let infer: () => void;
  if (which === 'prod') {
    const s = prodSetup(size, n);
    step = () => void s.step();
    infer = s.infer;
  } else {
    const net = new SegNet({ width: 0.5, headChannels: 128, rates: [6, 12, 18], classes: 6, stages: MOBILENET_V2_STAGES }).build(n, size);
    const { images, labels } = syntheticBatch(n, size, 6);
    const opt = tf.train.momentum(0.01, 0.9);
    step = () => {
      const loss = opt.minimize(() => net.loss(images, labels), true) as tf.Scalar;
      loss.dataSync();
      loss.dispose();
    };
    infer = () => tf.tidy(() => void net.forward(images).dataSync());
  }
  // Warm-up: XNNPACK operator set-up, heap growth.
  step();
  infer();
  const profiler = new KernelProfiler('wasm');
  const report = (what: string, f: () => void) => {
    profiler.reset();
    const before = tf.memory().numTensors;
    const wall = profiler.measure(f);
    const rows = profiler.byKernel();
    const inKernels = rows.reduce((a, r) => a + r.ms, 0);
    const calls = rows.reduce((a, r) => a + r.calls, 0);
    console.log(`\n### ${which} model, ${what}, ${size}x${size} batch ${n}: ${wall.toFixed(0)} ms wall, ${inKernels.toFixed(0)} ms in ${calls} kernel calls, ` +
      `${(wall - inKernels).toFixed(0)} ms (${((100 * (wall - inKernels)) / wall).toFixed(0)}%) outside kernels; tensors leaked: ${tf.memory().numTensors - before}\n`);
    console.log(table('By kernel:', rows, wall, top, false));
    console.log('');
    console.log(table('Slowest kernel + shape rows:', profiler.byShape(), wall, top, true));
  };
  report('training step', step);
  report('inference', infer);
  profiler.restore();
}

await main(process.argv.slice(2));
