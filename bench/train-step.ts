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
 *       [--size 256] [--batch 2] [--width 0.5] [--steps 5] [--warmup 3] [--infer-reps 10]
 *       [--rounds 2] [--torch-malloc keep|default] [--json]
 *
 * Like for like on both sides: the same warm-up (`--warmup` training steps,
 * then as many inference passes), the same numbers of timed steps and
 * inference passes, every setup in its own fresh process, and `--rounds`
 * rounds in ABBA order (the second round runs the setups in reverse order,
 * so none always follows the same neighbour); figures are medians over all
 * rounds' repetitions, with each round's median alongside. The stock CPU
 * setup (minutes per step) runs once, one step, no warm-up.
 *
 * Memory is kept the same way on both sides: our WebAssembly heap keeps the
 * pages it has touched, so after the warm-up a step takes no fresh memory
 * from the kernel; glibc's malloc under PyTorch by default returns large
 * blocks (tensors) to the kernel and faults fresh pages in every step
 * (thousands of minor faults per step, slow on this VM), so the twins run
 * with glibc tunables that keep freed memory in the process
 * (`--torch-malloc default` turns them off). Faults per step are reported.
 *
 * Reports wall and CPU milliseconds per step (CPU time counts all threads),
 * minor page faults per step, images/s, inference ms per image, peak RSS,
 * and for the bench net conv GFLOP/s of a step against the machine's fp32
 * GEMM peak.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { registerFastCpuKernels, registerWasmTrainingKernels } from '../stages/lib/tf-kernels/index.ts';
import { DataParallel } from '../stages/lib/tf/data-parallel.ts';
import { paramCount, prodModelConfig, prodSetup, defaultTrainParams } from './prod-model.ts';
import { initBackends } from './train-step-backends.ts';
import { machineBusyMs, othersMs } from './machine-busy.ts';
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
  /** Timed training steps per round. */
  readonly steps: number;
  /** Untimed training steps, then as many untimed inference passes, before timing (both sides). */
  readonly warmup: number;
  /** Timed inference passes per round. */
  readonly inferReps: number;
  /** Rounds of every setup, ABBA order; the stock CPU setup runs in the first only. */
  readonly rounds: number;
  /** 'keep': the PyTorch twins' malloc keeps freed memory (as our heap does); 'default': glibc as shipped. */
  readonly torchMalloc: 'keep' | 'default';
}

/** Every timed repetition of one setup, pooled over rounds. */
export interface Samples {
  stepMs: number[];
  stepCpuMs: number[];
  /** Minor page faults per step. */
  faults: number[];
  inferMs: number[];
  inferCpuMs: number[];
  /** CPU ms other processes on the machine took during each timed step / inference pass (machine-busy.ts). */
  stepOthersMs: number[];
  inferOthersMs: number[];
}

/** One setup's figures. */
export interface VariantResult {
  readonly variant: Variant | TorchVariant;
  readonly steps: number;
  readonly stepMs: number;
  readonly stepCpuMs: number | null;
  readonly faultsPerStep: number | null;
  readonly inferMsPerImage: number | null;
  readonly inferCpuMsPerImage: number | null;
  readonly peakRssMb: number;
  /** Other processes' CPU during the timed steps and passes, % of one core (of their wall time). */
  readonly othersPct: number | null;
  readonly samples: Samples;
  /** Median ms/step and inference ms/image of each round, and other processes' CPU (% of a core) in each. */
  readonly roundStepMs: number[];
  readonly roundInferMs: number[];
  readonly roundOthersPct?: (number | null)[];
  readonly params?: number;
  readonly outputShape?: number[];
  readonly losses?: number[];
  readonly note?: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);

const noSamples = (): Samples => ({ stepMs: [], stepCpuMs: [], faults: [], inferMs: [], inferCpuMs: [], stepOthersMs: [], inferOthersMs: [] });
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Other processes' CPU over the timed repetitions as % of one core; null when not measured. */
function othersPct(s: Samples, batch: number): number | null {
  const wall = sum(s.stepMs) + sum(s.inferMs) * batch;
  if (s.stepOthersMs.length + s.inferOthersMs.length === 0 || wall === 0) return null;
  return (100 * (sum(s.stepOthersMs) + sum(s.inferOthersMs))) / wall;
}

/** A result's figures from its samples (medians), one round. */
function fromSamples(
  base: Omit<VariantResult, 'stepMs' | 'stepCpuMs' | 'faultsPerStep' | 'inferMsPerImage' | 'inferCpuMsPerImage' | 'roundStepMs' | 'roundInferMs' | 'steps' | 'othersPct'>,
  batch: number,
): VariantResult {
  const s = base.samples;
  const stepMs = median(s.stepMs);
  const infer = median(s.inferMs);
  return {
    ...base,
    steps: s.stepMs.length,
    stepMs,
    stepCpuMs: orNull(median(s.stepCpuMs)),
    faultsPerStep: orNull(median(s.faults)),
    inferMsPerImage: orNull(infer),
    inferCpuMsPerImage: orNull(median(s.inferCpuMs)),
    othersPct: othersPct(s, batch),
    roundStepMs: Number.isNaN(stepMs) ? [] : [stepMs],
    roundInferMs: Number.isNaN(infer) ? [] : [infer],
  };
}

/** One setup's rounds pooled: medians over every repetition, each round's median kept. */
function pool(rounds: VariantResult[], batch: number): VariantResult {
  const first = rounds[0]!;
  const samples = noSamples();
  for (const r of rounds) for (const k of Object.keys(samples) as (keyof Samples)[]) samples[k].push(...r.samples[k]);
  const merged = fromSamples({ ...first, samples, peakRssMb: Math.max(...rounds.map((r) => r.peakRssMb)) }, batch);
  const failed = rounds.find((r) => r.note?.startsWith('failed') || r.steps === 0);
  return {
    ...merged,
    roundStepMs: rounds.flatMap((r) => r.roundStepMs),
    roundInferMs: rounds.flatMap((r) => r.roundInferMs),
    roundOthersPct: rounds.map((r) => r.othersPct),
    ...(failed?.note != null ? { note: failed.note } : {}),
  };
}

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
    // (one-off costs are small next to that). The wasm route is warmed up as
    // the PyTorch twins are (bench/torch_timing.py): its first steps pay
    // XNNPACK operator set-up and heap growth.
    const steps = onWasm ? o.steps : 1;
    if (onWasm) for (let i = 0; i < o.warmup; i++) await step();
    const samples = noSamples();
    const losses: number[] = [];
    const faults = () => process.resourceUsage().minorPageFault;
    const others = (into: number[], busy0: number | null, cpuMs: number) => {
      const o = othersMs(busy0, cpuMs);
      if (o != null) into.push(o);
    };
    for (let i = 0; i < steps; i++) {
      const c0 = process.cpuUsage();
      const f0 = faults();
      const b0 = machineBusyMs();
      const t0 = performance.now();
      losses.push(await step());
      samples.stepMs.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      samples.stepCpuMs.push((c.user + c.system) / 1000);
      samples.faults.push(faults() - f0);
      others(samples.stepOthersMs, b0, (c.user + c.system) / 1000);
    }
    await close();
    // Inference is one thread in every setup (wasm-2c's would be wasm's). The
    // first pass after training builds XNNPACK's operators for the new weights.
    if (variant !== 'cpu-stock' && variant !== 'wasm-2c') {
      const warm = variant === 'wasm' ? Math.max(1, o.warmup) : 1;
      const reps = variant === 'wasm' ? o.inferReps : 1;
      for (let i = 0; i < warm; i++) infer();
      for (let i = 0; i < reps; i++) {
        const c0 = process.cpuUsage();
        const b0 = machineBusyMs();
        const t0 = performance.now();
        infer();
        samples.inferMs.push((performance.now() - t0) / o.batch);
        const c = process.cpuUsage(c0);
        samples.inferCpuMs.push((c.user + c.system) / 1000 / o.batch);
        others(samples.inferOthersMs, b0, (c.user + c.system) / 1000);
      }
    }
    return fromSamples({ variant, samples, peakRssMb: peak / 2 ** 20, params, outputShape, losses }, o.batch);
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
        resolve(failed(variant, `failed: ${why.replace(/\s+/g, ' ').slice(0, 200)}`));
      }
    });
  });
}

function runTorch(variant: TorchVariant, model: ModelName, o: BenchOptions): Promise<VariantResult> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const threads = variant === 'torch-1t' ? '1' : '2';
  const common = ['--size', String(o.size), '--batch', String(o.batch), '--steps', String(o.steps), '--warmup', String(o.warmup), '--infer-reps', String(o.inferReps)];
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
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads };
  // Keep freed memory in the process, as our WebAssembly heap does: blocks up to 32 MB (every tensor
  // of these nets at 256x256, batch 2) come from malloc's heap instead of fresh mmaps, and the heap is
  // never trimmed. Without this PyTorch faults thousands of fresh pages in every step.
  if (o.torchMalloc === 'keep') env.GLIBC_TUNABLES = KEEP_MEMORY_TUNABLES;
  return new Promise((resolve) => {
    execFile('/usr/bin/python3', args, { env, timeout: 10 * 60_000 }, (error, stdout, stderr) => {
      try {
        const r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as {
          torch: string; threads: number; interopThreads: number; stepMsAll: number[]; stepCpuMsAll: number[]; faultsAll: number[];
          inferMsAll: number[]; inferCpuMsAll: number[]; othersMsAll?: number[]; inferOthersMsAll?: number[]; peakRssMb: number;
          params?: number; outputShape?: number[];
        };
        resolve(
          fromSamples({
            variant,
            samples: {
              stepMs: r.stepMsAll, stepCpuMs: r.stepCpuMsAll, faults: r.faultsAll, inferMs: r.inferMsAll, inferCpuMs: r.inferCpuMsAll,
              stepOthersMs: r.othersMsAll ?? [], inferOthersMs: r.inferOthersMsAll ?? [],
            },
            peakRssMb: r.peakRssMb,
            ...(r.params != null ? { params: r.params } : {}),
            ...(r.outputShape != null ? { outputShape: r.outputShape } : {}),
            note: `torch ${r.torch}, ${r.threads} thread${r.threads === 1 ? '' : 's'}${o.torchMalloc === 'keep' ? '' : ', malloc as shipped'}`,
          }, o.batch),
        );
      } catch {
        const why = /No module named 'torch'|cannot open shared object/.test(stderr)
          ? 'python3-torch not usable (apt-get install -y python3-torch)'
          : (error?.message ?? stderr.slice(-300));
        resolve(failed(variant, why.replace(/\s+/g, ' ').slice(0, 200)));
      }
    });
  });
}

/** glibc malloc tunables that keep freed memory in the process (see runTorch). */
export const KEEP_MEMORY_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295';

function failed(variant: Variant | TorchVariant, note: string): VariantResult {
  return { ...fromSamples({ variant, samples: noSamples(), peakRssMb: NaN }, 1), note };
}

function optionArgs(o: BenchOptions): string[] {
  return [
    '--size', String(o.size), '--batch', String(o.batch), '--width', String(o.width), '--head', String(o.headChannels),
    '--steps', String(o.steps), '--warmup', String(o.warmup), '--infer-reps', String(o.inferReps),
  ];
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
    options: {
      size: get('size', 256),
      batch: get('batch', 2),
      width: get('width', 0.5),
      headChannels: get('head', 128),
      steps: get('steps', 5),
      warmup: get('warmup', 3),
      inferReps: get('infer-reps', 10),
      rounds: get('rounds', 2),
      torchMalloc: str('torch-malloc') === 'default' ? 'default' : 'keep',
    },
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

/**
 * Runs every setup one after another (never in parallel: they would share the 2 cores), `o.rounds`
 * rounds in ABBA order (odd rounds reversed); the stock CPU setup in the first round only.
 */
export async function benchTrainStep(o: BenchOptions, model: ModelName, variants = defaultVariants(model)): Promise<ModelReport> {
  const byVariant = new Map<string, VariantResult[]>(variants.map((v) => [v, []]));
  const progress = (round: number, x: VariantResult) =>
    process.stderr.write(`train-step ${model} round ${round + 1} ${x.variant}: ${JSON.stringify({ ...x, losses: undefined, samples: undefined })}\n`);
  for (let round = 0; round < Math.max(1, o.rounds); round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      if (round > 0 && v === 'cpu-stock') continue;
      const r = v === 'torch-1t' || v === 'torch-2t' ? await runTorch(v, model, o) : await runChild(v, model, o);
      byVariant.get(v)!.push(r);
      progress(round, r);
    }
  }
  const results = variants.map((v) => pool(byVariant.get(v)!, o.batch));
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
    '| setup | params | steps | ms/step (each round) | CPU ms/step | faults/step | others CPU % (each round) | train images/s | x stock CPU (wall) | vs torch same threads (wall / CPU time) | ' +
      'inference ms/image (each round) | inference CPU ms/image | inference vs torch same threads | peak RSS MB |' +
      (r.trainGflop != null ? ' conv GFLOP/s (% of 120) |' : ''),
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |' + (r.trainGflop != null ? ' --- |' : ''),
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
    const each = (xs: (number | null)[], d: number) => (xs.length > 1 ? ` (${xs.map((v) => f(v, d)).join(' / ')})` : '');
    lines.push(
      `| ${x.variant}${x.note != null ? ` (${x.note})` : ''} | ${x.params ?? '—'} | ${x.steps} | ${f(x.stepMs)}${each(x.roundStepMs, 0)} | ${f(x.stepCpuMs)} | ` +
        `${f(x.faultsPerStep)} | ${f(x.othersPct)}${each(x.roundOthersPct ?? [], 0)} | ${f((1000 * o.batch) / x.stepMs, 2)} | ${ratio(stock?.stepMs, x.stepMs, 1)} | ${versus} | ` +
        `${f(x.inferMsPerImage, 1)}${each(x.roundInferMs, 1)} | ${f(x.inferCpuMsPerImage, 1)} | ${inferVs} | ${f(x.peakRssMb)} |` +
        (r.trainGflop != null ? ` ${f(gf, 1)} (${gf == null ? '—' : f((100 * gf) / PEAK_GFLOPS, 1)}) |` : ''),
    );
  }
  // The twin must be the same model: same parameter count and output shape.
  const shapes = r.results.filter((x) => x.outputShape != null).map((x) => `${x.variant} [${x.outputShape!.join(',')}]`);
  const params = new Set(r.results.filter((x) => x.params != null).map((x) => x.params));
  lines.push(
    '',
    'Compared at equal threads: wasm (one thread) with torch-1t, wasm-2c (the batch split over two threads) with torch-2t; ' +
      'inference runs one thread in ours (torch-2t row: ours / that). CPU ms counts all threads of the process. ' +
      `Both sides: ${o.warmup} warm-up steps and passes, then ${o.steps} timed steps and ${o.inferReps} timed inference passes per round, ` +
      `${o.rounds} round${o.rounds === 1 ? '' : 's'} in ABBA order (stock CPU: 1 step, first round only); medians over all rounds. ` +
      'Others CPU: what other processes on the machine used during the timed steps and passes, in % of one core ' +
      '(from /proc/stat: on these 2 cores another busy process slows a step even when the step has a core of its own). ' +
      (o.torchMalloc === 'keep'
        ? `PyTorch's malloc keeps freed memory (GLIBC_TUNABLES=${KEEP_MEMORY_TUNABLES}), as our WebAssembly heap does; faults/step: minor page faults per step.`
        : "PyTorch's malloc as shipped (returns freed memory to the kernel); faults/step: minor page faults per step."),
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
