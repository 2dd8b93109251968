/**
 * Where a training step's and an inference pass's time goes, per kernel, on
 * the wasm backend with our kernels (stages/lib/tf-kernels):
 *
 *   node --import tsx bench/train-step-profile.ts [--model prod|bench] [--size 256] [--batch 2] [--top 25] [--reps 1]
 *
 * `prod` is the model the default pipeline trains (bench/prod-model.ts),
 * `bench` the DeepLab-like bench net (bench/train-step-model.ts). Prints
 * Markdown tables: time by kernel, the slowest kernel+shape rows, and the
 * time outside every kernel (tfjs dispatch, tape, gradient functions'
 * JavaScript, bookkeeping).
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels } from '../stages/lib/tf-kernels/index.ts';
import { KernelProfiler, sumByKernel, type KernelRow } from './kernel-profile.ts';
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

/** Row by row (same kernel and shapes), the smaller time. */
function minRows(a: KernelRow[], b: KernelRow[]): KernelRow[] {
  const other = new Map(b.map((r) => [`${r.kernel} ${r.shapes}`, r]));
  return a.map((r) => ({ ...r, ms: Math.min(r.ms, other.get(`${r.kernel} ${r.shapes}`)?.ms ?? r.ms) }));
}

async function main(argv: string[]): Promise<void> {
  const which = arg(argv, 'model', 'prod');
  const size = Number(arg(argv, 'size', '256'));
  const n = Number(arg(argv, 'batch', '2'));
  const top = Number(arg(argv, 'top', '25'));
  const reps = Math.max(1, Number(arg(argv, 'reps', '1')));
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
  // With --reps N > 1 every figure is the minimum over N repetitions (per
  // kernel + shape row, and the wall time): the least-disturbed time of each,
  // which on a shared machine is closer to an idle run than any one repetition.
  const report = (what: string, f: () => void) => {
    const before = tf.memory().numTensors;
    let wall = Infinity;
    let shapes: KernelRow[] = [];
    for (let i = 0; i < reps; i++) {
      profiler.reset();
      wall = Math.min(wall, profiler.measure(f));
      shapes = i === 0 ? profiler.byShape() : minRows(shapes, profiler.byShape());
    }
    const rows = sumByKernel(shapes);
    const inKernels = rows.reduce((a, r) => a + r.ms, 0);
    const calls = rows.reduce((a, r) => a + r.calls, 0);
    const how = reps > 1 ? ` (minima over ${reps} repetitions)` : '';
    console.log(`\n### ${which} model, ${what}, ${size}x${size} batch ${n}${how}: ${wall.toFixed(0)} ms wall, ${inKernels.toFixed(0)} ms in ${calls} kernel calls, ` +
      `${(wall - inKernels).toFixed(0)} ms (${((100 * (wall - inKernels)) / wall).toFixed(0)}%) outside kernels; tensors leaked: ${tf.memory().numTensors - before}\n`);
    console.log(table('By kernel:', rows, wall, top, false));
    console.log('');
    console.log(table('Slowest kernel + shape rows:', shapes.sort((a, b) => b.ms - a.ms), wall, top, true));
  };
  report('training step', step);
  report('inference', infer);
  profiler.restore();
}

await main(process.argv.slice(2));
