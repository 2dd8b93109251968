/**
 * `deglare` and `enhance` against their Python + OpenCV twins (bench/image_twin.py)
 * at equal parallelism, side by side in one run on the same rendered 640x480
 * images, and how far the outputs are from OpenCV's.
 *
 * Both sides are warmed the same way: every worker (a `pipe` worker thread; a
 * Python process) is started, loads its libraries and processes the first image
 * before the clock starts; then the clock runs while the workers take all the
 * images from one queue, reading and writing included. Each side runs with 1
 * and with `workers` workers. The `enhance` ops are the ones `pipeline.yaml`
 * gives the `enhance` stage (with the stage's defaults filled in), so the twin
 * follows the default pipeline.
 *
 * Threads are counted, not only processes: each side's CPU time (user +
 * system, every thread: OpenCV's pool on the Python side; libuv's pool that
 * sharp decodes and encodes on, and V8's helpers on the `pipe` side) over the
 * timed part is printed beside its wall time, as cores busy = CPU / wall.
 * OpenCV gets the cores shared out among the processes (2 threads for 1
 * process on 2 cores, 1 each for 2): its parallel loops may use every core,
 * and never more threads than cores (its CPU per image was the same or lower
 * with 1 thread than with 2 in each of 2 processes, 2026-11-30). Each
 * configuration runs `rounds` times, Python and `pipe` alternating (ABBA), and
 * the best round of each side is kept, so a burst of load from other jobs
 * hurts neither side alone.
 *
 *   node --import tsx bench/image.ts [images=16] [workers=2] [rounds=2]
 *
 * Needs Debian's python3-opencv for /usr/bin/python3 (apt-get install -y python3-opencv).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parse } from 'yaml';
import { enhanceParams, type Op } from '../stages/enhance/schema.ts';
import { readRgb, writeImage } from '../stages/lib/image/io.ts';
import { renderDarkScene } from './image-scene.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const count = Number(process.argv[2] ?? 16);
const workers = Number(process.argv[3] ?? 2);
const rounds = Number(process.argv[4] ?? 2);

interface Timed {
  seconds: number;
  perSecond: number;
  /** CPU time of the whole process (every thread) over the timed part. */
  cpuSeconds: number;
  outDir: (rel: string) => string;
}

/** The `enhance` ops of the first stage in pipeline.yaml that uses `enhance`, defaults filled in. */
function pipelineEnhanceOps(): Op[] {
  const doc = parse(readFileSync(path.join(here, '..', 'pipeline.yaml'), 'utf8')) as { stages?: Record<string, { uses?: string; params?: { ops?: unknown } }> };
  const stage = Object.values(doc.stages ?? {}).find((s) => s.uses === 'enhance');
  return enhanceParams.parse({ ops: stage?.params?.ops }).ops;
}

async function runStage(stageName: string, params: Record<string, unknown>, root: string, rels: string[], n: number): Promise<Timed> {
  const outRoot = await mkdtemp(path.join(root, `out-${stageName}-${n}-`));
  const pool = Array.from({ length: n }, () => new Worker(path.join(here, 'image-worker-boot.mjs'), { workerData: { stageName, params, root, mapIn: 'images', outRoot: path.join(outRoot, 'warm') } }));
  // every worker imports the stage, then processes the first image (OpenCV loads on the first item)
  await Promise.all(pool.map((w) => new Promise((res) => w.once('message', res))));
  await Promise.all(pool.map((w) => new Promise((res) => { w.once('message', res); w.postMessage({ rel: rels[0], outRoot: path.join(outRoot, 'warm') }); })));
  const queue = [...rels];
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    pool.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const next = () => {
            const rel = queue.shift();
            if (rel === undefined) return resolve();
            w.postMessage({ rel, outRoot });
          };
          w.on('message', (m: { error?: string }) => (m.error ? reject(new Error(m.error)) : next()));
          next();
        }),
    ),
  );
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  await Promise.all(pool.map((w) => new Promise((res) => { w.once('exit', res); w.postMessage(null); })));
  return { seconds, perSecond: rels.length / seconds, cpuSeconds: (used.user + used.system) / 1e6, outDir: (rel) => path.join(outRoot, rel, 'images') };
}

interface PyResult {
  images: number;
  seconds: number;
  imagesPerSecond: number;
  cpuSeconds: number;
  opencv: string;
  threads: number;
}

function runPython(recipe: 'deglare' | 'enhance', procs: number, root: string, ops: Op[], round: number): PyResult & { outDir: string } {
  const outDir = path.join(root, `py-${recipe}-${procs}-${round}`);
  const out = execFileSync('/usr/bin/python3', [path.join(here, 'image_twin.py'), recipe, String(procs), path.join(root, 'images'), outDir, JSON.stringify(ops)], { encoding: 'utf8' });
  return { ...(JSON.parse(out) as PyResult), outDir };
}

/** The round with the shortest wall time. */
function best<T extends { seconds: number }>(xs: T[]): T {
  return xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

/** "12.34 s (1.30/s), CPU 0.81 s/image (1.06 cores)" */
function cell(seconds: number, images: number, cpuSeconds: number): string {
  return `${seconds.toFixed(2)} s (${(images / seconds).toFixed(2)}/s); CPU ${(cpuSeconds / images).toFixed(3)} s/image, ${(cpuSeconds / seconds).toFixed(2)} cores busy`;
}

/** Mean absolute difference (grey levels, over all values) of each pipe output against the Python one: [mean, max] over images. */
async function difference(rels: string[], ours: (rel: string) => string, theirs: string): Promise<[number, number]> {
  const per: number[] = [];
  for (const rel of rels) {
    const stem = rel.replace(/\.[^.]+$/, '');
    const a = await readRgb(path.join(ours(rel), `${stem}.png`));
    const b = await readRgb(path.join(theirs, `${stem}.png`));
    if (a.data.length !== b.data.length) throw new Error(`${rel}: sizes differ`);
    let sum = 0;
    for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
    per.push(sum / a.data.length);
  }
  return [per.reduce((x, y) => x + y, 0) / per.length, Math.max(...per)];
}

const root = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-img-'));
try {
  const rels: string[] = [];
  for (let i = 0; i < count; i++) {
    const rel = `scene${String(i).padStart(3, '0')}.png`;
    await writeImage(path.join(root, 'images', rel), renderDarkScene(i + 1), { format: 'png' });
    rels.push(rel);
  }
  const ops = pipelineEnhanceOps();
  const loadStart = os.loadavg()[0]!;
  const lines: string[] = [];
  const notes: string[] = [];
  let opencv = '';
  for (const recipe of ['deglare', 'enhance'] as const) {
    for (const n of [...new Set([1, workers])]) {
      // the twin computes no quality scores, so neither does pipe here (scores: false); the extra row below has them
      const params = recipe === 'deglare' ? { images: 'images', out: 'out' } : { images: 'images', out: 'out', ops, scores: false };
      const pys: (PyResult & { outDir: string })[] = [];
      const ourRuns: Timed[] = [];
      for (let r = 0; r < rounds; r++) {
        // ABBA: Python first in even rounds, pipe first in odd ones
        if (r % 2 === 0) pys.push(runPython(recipe, n, root, ops, r));
        ourRuns.push(await runStage(recipe, params, root, rels, n));
        if (r % 2 === 1) pys.push(runPython(recipe, n, root, ops, r));
      }
      const py = best(pys);
      const ours = best(ourRuns);
      opencv = `${py.opencv}`;
      rounds > 1 && notes.push(`${recipe} ${n} vs ${n}: Python ${pys.map((r) => r.seconds.toFixed(2)).join(', ')} s; pipe ${ourRuns.map((r) => r.seconds.toFixed(2)).join(', ')} s`);
      const [mad, madMax] = await difference(rels, ours.outDir, py.outDir);
      lines.push(
        `| ${recipe} | ${n} vs ${n} | ${n} x ${py.threads} | ${cell(py.seconds, rels.length, py.cpuSeconds)} | ${cell(ours.seconds, rels.length, ours.cpuSeconds)} | **${(ours.perSecond / py.imagesPerSecond).toFixed(2)}x** | ${(py.cpuSeconds / ours.cpuSeconds).toFixed(2)}x | ${mad.toFixed(3)} (max ${madMax.toFixed(3)}) |`,
      );
    }
  }
  const scored = await runStage('enhance', { images: 'images', out: 'out', ops }, root, rels, workers);
  lines.push(`| enhance with UIQM + UCIQE of every input and output (pipe only: not like for like) | — vs ${workers} | — | — | ${cell(scored.seconds, rels.length, scored.cpuSeconds)} | — | — | — |`);
  console.log(`${count} rendered 640x480 images; Python ${execFileSync('/usr/bin/python3', ['--version'], { encoding: 'utf8' }).trim()} + OpenCV ${opencv} (OpenCV threads per process: the cores shared out among the processes).`);
  console.log(`pipe: N worker threads (sharp decodes and encodes on libuv's pool; CPU time counts every thread of both sides). Both sides warmed with one image per worker, start-up excluded, reading and writing included.`);
  console.log(`Each configuration ${rounds} rounds, Python and pipe alternating (ABBA); the best round of each side is shown. Ratio = pipe's images/s over Python's at the same number of processes.`);
  console.log(`enhance ops (pipeline.yaml): ${ops.map((o) => o.op).join(', ')}; pipe's enhance with scores: false (the twin computes no UIQM/UCIQE either).`);
  console.log(`${os.cpus().length} cores, load average ${loadStart.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end${loadStart >= 1.5 ? ': PROVISIONAL (other jobs running)' : ''}\n`);
  console.log(`| stage | processes: Python vs pipe workers | Python: processes x OpenCV threads | Python + OpenCV: wall (images/s); CPU per image, cores busy | pipe: wall (images/s); CPU per image, cores busy | pipe / Python (images/s, same processes) | Python's CPU per image / pipe's (all threads) | mean abs. difference of pipe's output vs OpenCV's, grey levels (0-255) per image: mean (max) |`);
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const l of lines) console.log(l);
  if (notes.length) console.log(`\nWall time of every round: ${notes.join('; ')}.`);
} finally {
  if (process.env.KEEP) console.error(`kept ${root}`);
  else await rm(root, { recursive: true, force: true });
}
