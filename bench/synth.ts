/**
 * Rendering speed of the synth stage: images per second with 1 worker and
 * with 2 workers, side by side, on the default 128x128 scenes (both
 * conditions, JPEG/PNG encoding and writing included).
 *   node --import tsx bench/synth.ts [scenes=32] [size=128]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import stage from '../stages/synth/index.ts';
import type { StageContext, WholeStage } from '../src/stage-api.ts';
import type { SynthParams } from '../stages/synth/params.ts';

const synth = stage as WholeStage<SynthParams>;
const scenes = Number(process.argv[2] ?? 32);
const size = Number(process.argv[3] ?? 128);

async function timeRun(threads: number): Promise<{ images: number; seconds: number }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-synth-'));
  const params = synth.params.parse({ count: scenes, width: size, height: size, preview: 0 });
  const ctx: StageContext<SynthParams> = {
    stage: 'synth',
    params,
    root,
    path: (rel) => path.join(root, rel),
    workDir: root,
    progress: () => {},
    log: () => {},
    signal: new AbortController().signal,
    gpus: [],
    threads,
  };
  const t0 = performance.now();
  await synth.run(ctx);
  const seconds = (performance.now() - t0) / 1000;
  await rm(root, { recursive: true, force: true });
  return { images: scenes * params.conditions.length, seconds };
}

const rows: string[] = [];
for (const threads of [1, 2]) {
  const r = await timeRun(threads);
  rows.push(`${threads} worker${threads > 1 ? 's' : ' '}  ${r.images} images ${size}x${size}  ${r.seconds.toFixed(1)} s  ${(r.images / r.seconds).toFixed(1)} images/s`);
}
console.log(`synth render speed (load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores)`);
for (const r of rows) console.log(r);
