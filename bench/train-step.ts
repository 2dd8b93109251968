/**
 * Training-step benchmark of a DeepLab v3+-like net (bench/train-step-model.ts)
 * at 256x256, batch 2, on three tfjs setups side by side, plus a PyTorch twin:
 *   cpu-stock  tfjs's plain CPU backend as shipped (1 step: it is slow)
 *   cpu-fast   the CPU backend with registerFastCpuKernels()
 *   wasm       the WebAssembly backend with registerWasmTrainingKernels()
 *   torch      bench/torch_twin.py (Debian's python3-torch, OMP_NUM_THREADS=2)
 * Each setup runs in its own child process, so peak memory is its own and
 * kernel registrations cannot leak between them.
 *
 *   node --import tsx bench/train-step.ts [--size 256] [--batch 2] [--width 0.5] [--steps 3] [--json]
 *
 * Reports wall and CPU milliseconds per step (CPU time is the steadier figure
 * on a shared machine), inference ms per image, peak RSS, and conv GFLOP/s of a
 * step (conv FLOPs counted analytically) against the machine's fp32 GEMM peak.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { registerFastCpuKernels, registerWasmTrainingKernels } from '../stages/lib/tf-kernels/index.ts';
import { initBackends } from './train-step-backends.ts';
import { MOBILENET_V2_STAGES, SegNet, syntheticBatch } from './train-step-model.ts';

/** fp32 matrix-multiply peak of the 2-core bench machines (OpenBLAS, 2 threads). */
const PEAK_GFLOPS = 120;

type Variant = 'cpu-stock' | 'cpu-fast' | 'wasm';

/** Options shared by every setup. */
export interface BenchOptions {
  readonly size: number;
  readonly batch: number;
  readonly width: number;
  readonly headChannels: number;
  readonly steps: number;
}

/** One setup's figures. */
export interface VariantResult {
  readonly variant: Variant | 'torch';
  readonly steps: number;
  readonly stepMs: number;
  readonly stepCpuMs: number | null;
  readonly inferMsPerImage: number | null;
  readonly peakRssMb: number;
  readonly gflopsPerS: number | null;
  readonly losses?: number[];
  readonly note?: string;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Runs one setup in this process. */
export async function runVariant(variant: Variant, o: BenchOptions): Promise<VariantResult> {
  let peak = process.memoryUsage().rss;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 20);
  try {
    await initBackends();
    await tf.setBackend(variant === 'wasm' ? 'wasm' : 'cpu');
    if (variant === 'wasm') registerWasmTrainingKernels();
    if (variant === 'cpu-fast') registerFastCpuKernels();
    const net = new SegNet({ width: o.width, headChannels: o.headChannels, rates: [6, 12, 18], classes: 6, stages: MOBILENET_V2_STAGES }).build(o.batch, o.size);
    const { images, labels } = syntheticBatch(o.batch, o.size, 6);
    const opt = tf.train.momentum(0.01, 0.9);
    const step = () => {
      const loss = opt.minimize(() => net.loss(images, labels), true) as tf.Scalar;
      const value = loss.dataSync()[0]!;
      loss.dispose();
      sample();
      return value;
    };
    // The CPU backends take seconds to minutes per step: one step, no warm-up
    // (one-off costs are small next to that). The wasm step's first run pays
    // XNNPACK operator set-up and heap growth, so it is warmed up first.
    const steps = variant === 'wasm' ? o.steps : 1;
    if (variant === 'wasm') step();
    const wall: number[] = [];
    const cpu: number[] = [];
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      losses.push(step());
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    let inferMsPerImage: number | null = null;
    if (variant !== 'cpu-stock') {
      const infer: number[] = [];
      for (let i = 0; i < (variant === 'wasm' ? 3 : 2); i++) {
        const t0 = performance.now();
        // The block must not return the values: tidy walks a returned
        // typed array element by element looking for tensors (seconds).
        tf.tidy(() => {
          net.forward(images).dataSync();
        });
        infer.push((performance.now() - t0) / o.batch);
      }
      inferMsPerImage = median(infer.slice(1));
    }
    const stepMs = median(wall);
    return {
      variant,
      steps,
      stepMs,
      stepCpuMs: median(cpu),
      inferMsPerImage,
      peakRssMb: peak / 2 ** 20,
      gflopsPerS: net.trainFlops() / 1e9 / (stepMs / 1000),
      losses,
    };
  } finally {
    clearInterval(timer);
  }
}

function runChild(variant: Variant, o: BenchOptions): Promise<VariantResult> {
  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, '--variant', variant, ...optionArgs(o)];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 16 << 20, timeout: 30 * 60_000 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as VariantResult);
      } catch {
        reject(new Error(`bench variant ${variant} failed: ${error?.message ?? ''}\n${stderr.slice(-2000)}`));
      }
    });
  });
}

function runTorch(o: BenchOptions): Promise<VariantResult> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torch_twin.py');
  const args = [script, '--size', String(o.size), '--batch', String(o.batch), '--width', String(o.width), '--head', String(o.headChannels), '--steps', String(o.steps)];
  return new Promise((resolve) => {
    execFile('/usr/bin/python3', args, { env: { ...process.env, OMP_NUM_THREADS: '2' }, timeout: 10 * 60_000 }, (error, stdout, stderr) => {
      try {
        const r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { torch: string; stepMs: number; stepCpuMs: number; inferMsPerImage: number; peakRssMb: number };
        resolve({ variant: 'torch', steps: o.steps, stepMs: r.stepMs, stepCpuMs: r.stepCpuMs, inferMsPerImage: r.inferMsPerImage, peakRssMb: r.peakRssMb, gflopsPerS: null, note: `torch ${r.torch}` });
      } catch {
        const why = /No module named 'torch'/.test(stderr) ? 'python3-torch not installed (apt-get install -y python3-torch)' : (error?.message ?? stderr.slice(-300));
        resolve({ variant: 'torch', steps: 0, stepMs: NaN, stepCpuMs: null, inferMsPerImage: null, peakRssMb: NaN, gflopsPerS: null, note: why });
      }
    });
  });
}

function optionArgs(o: BenchOptions): string[] {
  return ['--size', String(o.size), '--batch', String(o.batch), '--width', String(o.width), '--head', String(o.headChannels), '--steps', String(o.steps)];
}

function parse(argv: string[]): { options: BenchOptions; variant?: Variant; json: boolean } {
  const get = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const v = argv.indexOf('--variant');
  return {
    options: { size: get('size', 256), batch: get('batch', 2), width: get('width', 0.5), headChannels: get('head', 128), steps: get('steps', 3) },
    ...(v >= 0 ? { variant: argv[v + 1] as Variant } : {}),
    json: argv.includes('--json'),
  };
}

/** Runs every setup one after another (never in parallel: they would share the 2 cores) and returns the results. */
export async function benchTrainStep(o: BenchOptions): Promise<{ options: BenchOptions; trainGflop: number; results: VariantResult[] }> {
  const results: VariantResult[] = [];
  // Progress on stderr: the stock CPU step alone takes minutes.
  const progress = (x: VariantResult) => process.stderr.write(`train-step ${x.variant}: ${JSON.stringify(x)}\n`);
  for (const variant of ['wasm', 'cpu-fast', 'cpu-stock'] as const) {
    results.push(await runChild(variant, o));
    progress(results[results.length - 1]!);
  }
  results.push(await runTorch(o));
  progress(results[results.length - 1]!);
  const counter = new SegNet({ width: o.width, headChannels: o.headChannels, rates: [6, 12, 18], classes: 6, stages: MOBILENET_V2_STAGES });
  await initBackends();
  await tf.setBackend('cpu');
  // Counting needs only shapes: a 1-image forward at the same size, scaled by the batch.
  counter.build(1, o.size);
  tf.dispose(counter.variables);
  return { options: o, trainGflop: (counter.trainFlops() * o.batch) / 1e9, results };
}

/** A Markdown table of the results. */
export function formatReport(r: Awaited<ReturnType<typeof benchTrainStep>>): string {
  const stock = r.results.find((x) => x.variant === 'cpu-stock');
  const torch = r.results.find((x) => x.variant === 'torch');
  const f = (x: number | null | undefined, d = 0) => (x == null || Number.isNaN(x) ? '—' : x.toFixed(d));
  const lines = [
    `DeepLab v3+-like net (MobileNetV2 width ${r.options.width}, head ${r.options.headChannels}), ${r.options.size}x${r.options.size}, batch ${r.options.batch}: ${r.trainGflop.toFixed(1)} conv GFLOP per training step`,
    '',
    '| setup | steps | ms/step | CPU ms/step | x stock CPU (wall / CPU time) | vs torch (wall / CPU time) | inference ms/image | peak RSS MB | conv GFLOP/s (wall / CPU time) | % of 120 GFLOP/s (wall) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const ratio = (a: number | null | undefined, b: number | null | undefined, d: number) =>
    a == null || b == null || Number.isNaN(a) || Number.isNaN(b) ? '—' : (a / b).toFixed(d);
  for (const x of r.results) {
    // Same net, same FLOPs for every row, torch included.
    const gf = Number.isNaN(x.stepMs) ? null : r.trainGflop / (x.stepMs / 1000);
    const gfCpu = x.stepCpuMs == null ? null : r.trainGflop / (x.stepCpuMs / 1000);
    lines.push(
      `| ${x.variant}${x.note != null ? ` (${x.note})` : ''} | ${x.steps} | ${f(x.stepMs)} | ${f(x.stepCpuMs)} | ` +
        `${ratio(stock?.stepMs, x.stepMs, 1)} / ${ratio(stock?.stepCpuMs, x.stepCpuMs, 1)} | ` +
        `${ratio(x.stepMs, torch?.stepMs, 2)} / ${ratio(x.stepCpuMs, torch?.stepCpuMs, 2)} | ` +
        `${f(x.inferMsPerImage, 1)} | ${f(x.peakRssMb)} | ${f(gf, 1)} / ${f(gfCpu, 1)} | ${gf == null ? '—' : f((100 * gf) / PEAK_GFLOPS, 1)} |`,
    );
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  const { options, variant, json } = parse(argv);
  if (variant != null) {
    process.stdout.write(`${JSON.stringify(await runVariant(variant, options))}\n`);
    process.exit(0);
  }
  const report = await benchTrainStep(options);
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
}

if (process.argv[1] != null && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
