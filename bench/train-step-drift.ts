/**
 * Does our training step slow down as a process runs? Many steps of the
 * production model in ONE process (wasm backend, our kernels, one thread),
 * with per-step wall and CPU ms, minor page faults, live tensors, the
 * WebAssembly heap's size and V8's JS heap, then inference passes, then
 * training again (does inference leave something behind?):
 *
 *   node --import tsx bench/train-step-drift.ts [--size 256] [--batch 2] [--steps 30] [--infer 10] [--cycles 2]
 *
 * Prints one line per repetition and a summary (median of the first and last
 * third of each phase).
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels } from '../stages/lib/tf-kernels/index.ts';
import { prodSetup } from './prod-model.ts';
import { initBackends } from './train-step-backends.ts';
import { machineBusyMs, othersMs } from './machine-busy.ts';

function arg(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
};

async function main(argv: string[]): Promise<void> {
  const size = arg(argv, 'size', 256);
  const n = arg(argv, 'batch', 2);
  const steps = arg(argv, 'steps', 30);
  const inferReps = arg(argv, 'infer', 10);
  const cycles = arg(argv, 'cycles', 2);
  await initBackends();
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
  const wasm = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm;
  const s = prodSetup(size, n);
  const faults = () => process.resourceUsage().minorPageFault;
  const time = (f: () => void) => {
    const c0 = process.cpuUsage();
    const f0 = faults();
    const b0 = machineBusyMs();
    const t0 = performance.now();
    f();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1000;
    return { ms, cpu, faults: faults() - f0, others: othersMs(b0, cpu) ?? NaN };
  };
  // A fixed piece of arithmetic in registers (no memory traffic): if it slows
  // down together with the step, the core itself ran slower (host contention,
  // clock), not our process's state.
  const probe = () => {
    const t0 = performance.now();
    let a = 1.0001;
    let b = 0.5;
    for (let i = 0; i < 20_000_000; i++) {
      a = a * 0.9999999 + b;
      b = b * 0.999 + 1e-9;
    }
    if (a === 42) console.log('');
    return performance.now() - t0;
  };
  const summary: string[] = [];
  const phase = (name: string, reps: number, f: () => void) => {
    const ms: number[] = [];
    for (let i = 0; i < reps; i++) {
      const r = time(f);
      ms.push(r.ms);
      const m = tf.memory();
      const p = probe();
      console.log(
        `${name} ${String(i).padStart(2)}: ${r.ms.toFixed(0).padStart(4)} ms, cpu ${r.cpu.toFixed(0).padStart(4)}, others ${r.others.toFixed(0).padStart(4)}, probe ${p.toFixed(1)}, faults ${String(r.faults).padStart(5)}, ` +
          `tensors ${m.numTensors}, wasm heap ${(wasm.HEAPU8.length / 2 ** 20).toFixed(0)} MB, ` +
          `js heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MB, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
      );
    }
    const third = Math.max(1, Math.floor(reps / 3));
    summary.push(`${name}: median ${median(ms).toFixed(0)}, first third ${median(ms.slice(0, third)).toFixed(1)}, last third ${median(ms.slice(-third)).toFixed(1)}`);
  };
  for (let c = 0; c < cycles; c++) {
    phase(`train#${c}`, steps, () => void s.step());
    phase(`infer#${c}`, inferReps, s.infer);
  }
  console.log(summary.join('\n'));
}

await main(process.argv.slice(2));
