/**
 * Training-step and inference benchmark, side by side in one run:
 *
 *   --model prod   the model the default pipeline trains (bench/prod-model.ts,
 *                  built by stages/lib/tf/models from the train stage's defaults)
 *                  against its PyTorch twin bench/torch_prod_twin.py
 *   --model bench  the DeepLab-like bench net (bench/train-step-model.ts)
 *                  against its twin bench/torch_twin.py
 *   --model both   both (the `train` entry of bench/run.ts)
 *
 * Setups, each in its own child process (peak memory is its own, kernel
 * registrations cannot leak between them):
 *   wasm       the WebAssembly backend with registerWasmTrainingKernels() (one thread)
 *   wasm-2c    the same on two cores: the batch split across this thread and a
 *              worker thread, gradients summed (stages/lib/tf/data-parallel.ts;
 *              production model only; training only)
 *   cpu-fast   the CPU backend with registerFastCpuKernels()
 *   cpu-stock  tfjs's plain CPU backend as shipped (1 step: it is slow)
 *   torch-1t / torch-2t  the twin on Debian's python3-torch, OMP_NUM_THREADS=1 / 2
 *
 *   node --import tsx bench/train-step.ts [--model prod|bench|both] [--variants wasm,cpu-stock,...]
 *       [--size 256] [--batch 2] [--width 0.5] [--steps 3] [--json]
 *
 * Reports wall and CPU milliseconds per step (CPU time is the steadier figure
 * on a shared machine), images/s, inference ms per image, peak RSS, and for
 * the bench net conv GFLOP/s of a step against the machine's fp32 GEMM peak.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { registerFastCpuKernels, registerWasmTrainingKernels } from '../stages/lib/tf-kernels/index.ts';
import { DataParallel } from '../stages/lib/tf/data-parallel.ts';
import { paramCount, prodModelConfig, prodSetup, defaultTrainParams } from './prod-model.ts';
import { initBackends } from './train-step-backends.ts';
import { MOBILENET_V2_STAGES, SegNet, syntheticBatch } from './train-step-model.ts';

/** fp32 matrix-multiply peak of the 2-core bench machines (OpenBLAS, 2 threads). */
const PEAK_GFLOPS = 120;

type Variant = 'cpu-stock' | 'cpu-fast' | 'wasm' | 'wasm-2c';
type ModelName = 'prod' | 'bench';
const TORCH_VARIANTS = ['torch-1t', 'torch-2t'] as const;
type TorchVariant = (typeof TORCH_VARIANTS)[number];

/** Options shared by every setup. */
export interface BenchOptions {
  readonly size: number;
  readonly batch: number;
  /** Bench net only (the production model takes the train stage's defaults). */
  readonly width: number;
  readonly headChannels: number;
  readonly steps: number;
}

/** One setup's figures. */
export interface VariantResult {
  readonly variant: Variant | TorchVariant;
  readonly steps: number;
  readonly stepMs: number;
  readonly stepCpuMs: number | null;
  readonly inferMsPerImage: number | null;
  readonly peakRssMb: number;
  readonly params?: number;
  readonly outputShape?: number[];
  readonly losses?: number[];
  readonly note?: string;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function benchNet(o: BenchOptions): SegNet {
  return new SegNet({ width: o.width, headChannels: o.headChannels, rates: [6, 12, 18], classes: 6, stages: MOBILENET_V2_STAGES });
}

/** Runs one setup in this process. */
export async function runVariant(variant: Variant, model: ModelName, o: BenchOptions): Promise<VariantResult> {
  let peak = process.memoryUsage().rss;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 20);
  try {
    await initBackends();
    const onWasm = variant === 'wasm' || variant === 'wasm-2c';
    await tf.setBackend(onWasm ? 'wasm' : 'cpu');
    if (onWasm) registerWasmTrainingKernels();
    if (variant === 'cpu-fast') registerFastCpuKernels();
    let trainStep: () => number | Promise<number>;
    let close = async () => {};
    let infer: () => void;
    let params: number;
    let outputShape: number[];
    if (model === 'prod') {
      const s = prodSetup(o.size, o.batch);
      trainStep = s.step;
      if (variant === 'wasm-2c') {
        const dp = await DataParallel.start(s.model, s.config, s.optimizer, s.optimizerConfig);
        trainStep = () => dp.step(s.images, s.labels, s.params.lr, s.params.classWeights);
        close = () => dp.close();
      }
      infer = s.infer;
      params = paramCount(s.model);
      outputShape = tf.tidy(() => s.model.logits(tf.zeros([o.batch, o.size, o.size, 3]), false).shape);
    } else {
      if (variant === 'wasm-2c') throw new Error('wasm-2c: production model only');
      const net = benchNet(o).build(o.batch, o.size);
      const { images, labels } = syntheticBatch(o.batch, o.size, 6);
      const opt = tf.train.momentum(0.01, 0.9);
      trainStep = () => {
        const loss = opt.minimize(() => net.loss(images, labels), true) as tf.Scalar;
        const value = loss.dataSync()[0]!;
        loss.dispose();
        return value;
      };
      // The block must not return the values: tidy walks a returned typed
      // array element by element looking for tensors (seconds).
      infer = () =>
        tf.tidy(() => {
          net.forward(images).dataSync();
        });
      params = net.variables.reduce((a, v) => a + v.size, 0);
      outputShape = tf.tidy(() => net.forward(tf.zeros([o.batch, o.size, o.size, 3])).shape);
    }
    const step = async () => {
      const value = await trainStep();
      sample();
      return value;
    };
    // The CPU backends take seconds to minutes per step: one step, no warm-up
    // (one-off costs are small next to that). The wasm step's first run pays
    // XNNPACK operator set-up and heap growth, so it is warmed up first.
    const steps = onWasm ? o.steps : 1;
    if (onWasm) await step();
    const wall: number[] = [];
    const cpu: number[] = [];
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      losses.push(await step());
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    let inferMsPerImage: number | null = null;
    await close();
    // Inference is one thread in every setup (wasm-2c's would be wasm's).
    if (variant !== 'cpu-stock' && variant !== 'wasm-2c') {
      const times: number[] = [];
      for (let i = 0; i < (variant === 'wasm' ? o.steps + 1 : 2); i++) {
        const t0 = performance.now();
        infer();
        times.push((performance.now() - t0) / o.batch);
      }
      inferMsPerImage = median(times.slice(1));
    }
    return { variant, steps, stepMs: median(wall), stepCpuMs: median(cpu), inferMsPerImage, peakRssMb: peak / 2 ** 20, params, outputShape, losses };
  } finally {
    clearInterval(timer);
  }
}

function runChild(variant: Variant, model: ModelName, o: BenchOptions): Promise<VariantResult> {
  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, '--variant', variant, '--model', model, ...optionArgs(o)];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { maxBuffer: 16 << 20, timeout: 30 * 60_000 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as VariantResult);
      } catch {
        const why = (error?.message ?? '') + stderr.slice(-300);
        resolve({ variant, steps: 0, stepMs: NaN, stepCpuMs: null, inferMsPerImage: null, peakRssMb: NaN, note: `failed: ${why.replace(/\s+/g, ' ').slice(0, 200)}` });
      }
    });
  });
}

function runTorch(variant: TorchVariant, model: ModelName, o: BenchOptions): Promise<VariantResult> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const threads = variant === 'torch-1t' ? '1' : '2';
  const common = ['--size', String(o.size), '--batch', String(o.batch), '--steps', String(o.steps)];
  let args: string[];
  if (model === 'prod') {
    const p = defaultTrainParams();
    // A frozen trunk (the stem and the first `freeze` blocks get no gradient), when the stage has one.
    const frozen = p.freeze;
    args = [
      path.join(here, 'torch_prod_twin.py'), '--config', JSON.stringify(prodModelConfig(p)), '--frozen-blocks', String(frozen),
      '--lr', String(p.lr), '--momentum', String(p.momentum), '--weight-decay', String(p.weightDecay), ...common,
    ];
  } else {
    args = [path.join(here, 'torch_twin.py'), '--width', String(o.width), '--head', String(o.headChannels), ...common];
  }
  return new Promise((resolve) => {
    execFile('/usr/bin/python3', args, { env: { ...process.env, OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads }, timeout: 10 * 60_000 }, (error, stdout, stderr) => {
      try {
        const r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as {
          torch: string; threads: number; stepMs: number; stepCpuMs: number; inferMsPerImage: number; peakRssMb: number; params?: number; outputShape?: number[];
        };
        resolve({
          variant, steps: o.steps, stepMs: r.stepMs, stepCpuMs: r.stepCpuMs, inferMsPerImage: r.inferMsPerImage, peakRssMb: r.peakRssMb,
          ...(r.params != null ? { params: r.params } : {}),
          ...(r.outputShape != null ? { outputShape: r.outputShape } : {}),
          note: `torch ${r.torch}, ${r.threads} thread${r.threads === 1 ? '' : 's'}`,
        });
      } catch {
        const why = /No module named 'torch'|cannot open shared object/.test(stderr)
          ? 'python3-torch not usable (apt-get install -y python3-torch)'
          : (error?.message ?? stderr.slice(-300));
        resolve({ variant, steps: 0, stepMs: NaN, stepCpuMs: null, inferMsPerImage: null, peakRssMb: NaN, note: why.replace(/\s+/g, ' ').slice(0, 200) });
      }
    });
  });
}

function optionArgs(o: BenchOptions): string[] {
  return ['--size', String(o.size), '--batch', String(o.batch), '--width', String(o.width), '--head', String(o.headChannels), '--steps', String(o.steps)];
}

interface Parsed {
  options: BenchOptions;
  models: ModelName[];
  variants?: (Variant | TorchVariant)[];
  variant?: Variant;
  json: boolean;
}

function parse(argv: string[]): Parsed {
  const get = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const str = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const model = str('model') ?? 'bench';
  const variants = str('variants');
  const v = str('variant');
  return {
    options: { size: get('size', 256), batch: get('batch', 2), width: get('width', 0.5), headChannels: get('head', 128), steps: get('steps', 3) },
    models: model === 'both' ? ['prod', 'bench'] : [model as ModelName],
    ...(variants != null ? { variants: variants.split(',') as (Variant | TorchVariant)[] } : {}),
    ...(v != null ? { variant: v as Variant } : {}),
    json: argv.includes('--json'),
  };
}

/** Which setups run by default: the stock CPU step of the bench net alone takes over 20 minutes. */
function defaultVariants(model: ModelName): (Variant | TorchVariant)[] {
  return model === 'prod' ? ['wasm', 'wasm-2c', 'cpu-stock', ...TORCH_VARIANTS] : ['wasm', ...TORCH_VARIANTS];
}

export interface ModelReport {
  readonly model: ModelName;
  readonly description: string;
  /** Conv GFLOP of a training step (bench net only: counted analytically). */
  readonly trainGflop: number | null;
  readonly results: VariantResult[];
}

/** Runs every setup one after another (never in parallel: they would share the 2 cores). */
export async function benchTrainStep(o: BenchOptions, model: ModelName, variants = defaultVariants(model)): Promise<ModelReport> {
  const results: VariantResult[] = [];
  const progress = (x: VariantResult) => process.stderr.write(`train-step ${model} ${x.variant}: ${JSON.stringify({ ...x, losses: undefined })}\n`);
  for (const v of variants) {
    results.push(v === 'torch-1t' || v === 'torch-2t' ? await runTorch(v, model, o) : await runChild(v, model, o));
    progress(results[results.length - 1]!);
  }
  if (model === 'prod') {
    const c = prodModelConfig();
    const p = defaultTrainParams();
    return {
      model,
      // The whole config, so the table names whatever the default becomes.
      description: `production model (the train stage's defaults, optimiser ${p.optimizer}: ${JSON.stringify(c)})`,
      trainGflop: null,
      results,
    };
  }
  const counter = benchNet(o);
  await initBackends();
  await tf.setBackend('cpu');
  // Counting needs only shapes: a 1-image forward at the same size, scaled by the batch.
  counter.build(1, o.size);
  tf.dispose(counter.variables);
  return {
    model,
    description: `bench net (DeepLab v3+-like, MobileNetV2 width ${o.width}, batch norm, head ${o.headChannels})`,
    trainGflop: (counter.trainFlops() * o.batch) / 1e9,
    results,
  };
}

/** A Markdown table of one model's results. */
export function formatReport(r: ModelReport, o: BenchOptions): string {
  const stock = r.results.find((x) => x.variant === 'cpu-stock');
  const torch1 = r.results.find((x) => x.variant === 'torch-1t');
  const ours = r.results.find((x) => x.variant === 'wasm');
  const ours2 = r.results.find((x) => x.variant === 'wasm-2c') ?? ours;
  const torch2 = r.results.find((x) => x.variant === 'torch-2t');
  const f = (x: number | null | undefined, d = 0) => (x == null || Number.isNaN(x) ? '—' : x.toFixed(d));
  const ratio = (a: number | null | undefined, b: number | null | undefined, d: number) =>
    a == null || b == null || Number.isNaN(a) || Number.isNaN(b) ? '—' : (a / b).toFixed(d);
  const lines = [
    `${r.description}, ${o.size}x${o.size}, batch ${o.batch}${r.trainGflop != null ? `: ${r.trainGflop.toFixed(1)} conv GFLOP per training step` : ''}`,
    '',
    '| setup | params | steps | ms/step | CPU ms/step | train images/s | x stock CPU (wall) | vs torch same threads (wall / CPU time) | inference ms/image | inference vs torch same threads | peak RSS MB |' +
      (r.trainGflop != null ? ' conv GFLOP/s (% of 120) |' : ''),
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |' + (r.trainGflop != null ? ' --- |' : ''),
  ];
  for (const x of r.results) {
    // Equal threads: wasm (one thread) against torch-1t; wasm-2c (this thread and a worker) against torch-2t
    // (wasm against torch-2t when wasm-2c did not run).
    const torchRow = x.variant.startsWith('torch');
    const twin = torchRow ? (x.variant === 'torch-2t' ? ours2 : ours) : x.variant === 'wasm-2c' ? torch2 : torch1;
    const versus = torchRow
      ? `ours / this: ${ratio(twin?.stepMs, x.stepMs, 2)} / ${ratio(twin?.stepCpuMs, x.stepCpuMs, 2)}`
      : `${ratio(x.stepMs, twin?.stepMs, 2)} / ${ratio(x.stepCpuMs, twin?.stepCpuMs, 2)}`;
    const inferVs = x.variant.startsWith('torch') ? `ours / this: ${ratio(ours?.inferMsPerImage, x.inferMsPerImage, 2)}` : ratio(x.inferMsPerImage, torch1?.inferMsPerImage, 2);
    const gf = r.trainGflop != null && !Number.isNaN(x.stepMs) ? r.trainGflop / (x.stepMs / 1000) : null;
    lines.push(
      `| ${x.variant}${x.note != null ? ` (${x.note})` : ''} | ${x.params ?? '—'} | ${x.steps} | ${f(x.stepMs)} | ${f(x.stepCpuMs)} | ${f((1000 * o.batch) / x.stepMs, 2)} | ` +
        `${ratio(stock?.stepMs, x.stepMs, 1)} | ${versus} | ${f(x.inferMsPerImage, 1)} | ${inferVs} | ${f(x.peakRssMb)} |` +
        (r.trainGflop != null ? ` ${f(gf, 1)} (${gf == null ? '—' : f((100 * gf) / PEAK_GFLOPS, 1)}) |` : ''),
    );
  }
  // The twin must be the same model: same parameter count and output shape.
  const shapes = r.results.filter((x) => x.outputShape != null).map((x) => `${x.variant} [${x.outputShape!.join(',')}]`);
  const params = new Set(r.results.filter((x) => x.params != null).map((x) => x.params));
  lines.push(
    '',
    'Compared at equal threads: wasm (one thread) with torch-1t, wasm-2c (the batch split over two threads) with torch-2t; ' +
      'inference runs one thread in ours (torch-2t row: ours / that). CPU ms counts all threads of the process.',
  );
  lines.push('', `Twin check: parameter counts ${params.size <= 1 ? 'equal' : `DIFFER (${[...params].join(' vs ')})`}; output shapes (NHWC) ${shapes.join(', ')}.`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  const { options, models, variants, variant, json } = parse(argv);
  if (variant != null) {
    process.stdout.write(`${JSON.stringify(await runVariant(variant, models[0]!, options))}\n`);
    process.exit(0);
  }
  const reports: ModelReport[] = [];
  for (const m of models) reports.push(await benchTrainStep(options, m, variants));
  process.stdout.write(json ? `${JSON.stringify(reports)}\n` : `${reports.map((r) => formatReport(r, options)).join('\n\n')}\n`);
}

if (process.argv[1] != null && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
