/**
 * Throughput of the `deglare` and `enhance` stages against the study's own
 * Python + OpenCV deglare recipe (bench/deglare_study.py), side by side in one
 * run on the same rendered 640x480 images. The stages run through their
 * processItem in worker threads (one module import and one OpenCV load per
 * worker, like the engine); start-up is excluded, reading and writing
 * included, as in the Python script.
 *
 *   node --import tsx bench/image.ts [images=12] [workers=2]
 *
 * Needs Debian's python3-opencv for /usr/bin/python3 (apt-get install -y python3-opencv).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { writeImage } from '../stages/lib/image/io.ts';
import { renderDarkScene } from './image-scene.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const count = Number(process.argv[2] ?? 12);
const workers = Number(process.argv[3] ?? 2);

interface Row {
  what: string;
  workers: number;
  images: number;
  seconds: number;
  perSecond: number;
}

async function runStage(stageName: string, params: Record<string, unknown>, root: string, rels: string[], n: number): Promise<Row> {
  const outRoot = await mkdtemp(path.join(root, `out-${stageName}-`));
  const pool = Array.from({ length: n }, () => new Worker(path.join(here, 'image-worker-boot.mjs'), { workerData: { stageName, params, root, mapIn: 'images', outRoot } }));
  // wait until every worker has imported the stage; OpenCV loads on the first item, so warm each worker with one item
  await Promise.all(pool.map((w) => new Promise((res) => w.once('message', res))));
  await Promise.all(pool.map((w) => new Promise((res) => { w.once('message', res); w.postMessage(rels[0]); })));
  const queue = [...rels];
  const start = performance.now();
  await Promise.all(
    pool.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const next = () => {
            const rel = queue.shift();
            if (rel === undefined) return resolve();
            w.postMessage(rel);
          };
          w.on('message', (m: { error?: string }) => (m.error ? reject(new Error(m.error)) : next()));
          next();
        }),
    ),
  );
  const seconds = (performance.now() - start) / 1000;
  for (const w of pool) w.postMessage(null);
  return { what: stageName, workers: n, images: rels.length, seconds, perSecond: rels.length / seconds };
}

const root = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-img-'));
try {
  const rels: string[] = [];
  for (let i = 0; i < count; i++) {
    const rel = `scene${String(i).padStart(3, '0')}.png`;
    await writeImage(path.join(root, 'images', rel), renderDarkScene(i + 1), { format: 'png' });
    rels.push(rel);
  }
  const rows: Row[] = [];
  const py = JSON.parse(
    execFileSync('/usr/bin/python3', [path.join(here, 'deglare_study.py'), path.join(root, 'images'), path.join(root, 'py-out')], { encoding: 'utf8' }),
  ) as { images: number; seconds: number; imagesPerSecond: number; opencv: string; threads: number };
  rows.push({ what: `python study recipe (OpenCV ${py.opencv}, ${py.threads} threads)`, workers: 1, images: py.images, seconds: py.seconds, perSecond: py.imagesPerSecond });
  const study = { images: 'images', out: 'out' };
  rows.push(await runStage('deglare', study, root, rels, 1));
  rows.push(await runStage('deglare', study, root, rels, workers));
  const ops = [{ op: 'redCompensation' }, { op: 'levels' }, { op: 'clahe' }];
  rows.push({ ...(await runStage('enhance', { ...study, ops }, root, rels, workers)), what: 'enhance (redCompensation, levels, clahe + UIQM/UCIQE)' });
  rows.push({ ...(await runStage('enhance', { ...study, ops: [{ op: 'udcp' }] }, root, rels, workers)), what: 'enhance (udcp + UIQM/UCIQE)' });
  const base = rows[0]!.perSecond;
  console.log(`640x480 images, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(2)} at the end\n`);
  console.log('| what | workers | images | seconds | images/s | vs python |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.what} | ${r.workers} | ${r.images} | ${r.seconds.toFixed(2)} | ${r.perSecond.toFixed(2)} | ${(r.perSecond / base).toFixed(2)}x |`);
} finally {
  await rm(root, { recursive: true, force: true });
}
