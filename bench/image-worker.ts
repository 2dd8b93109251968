/**
 * Worker for bench/image.ts: imports a built-in per-item stage once (as the
 * engine's workers do) and runs processItem on the files it is sent.
 */
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { PerItemStage } from '../src/stage-api.ts';

const { stageName, params, root, mapIn } = workerData as { stageName: string; params: unknown; root: string; mapIn: string };
const stage = (await import(`../stages/${stageName}/index.ts`)).default as PerItemStage;
const parsed = stage.params.parse(params);

// each message names the item and where its outputs go (the warm-up item writes elsewhere)
parentPort!.on('message', async (msg: { rel: string; outRoot: string } | null) => {
  if (msg === null) return process.exit(0);
  const { rel, outRoot } = msg;
  try {
    const res = await stage.processItem({
      stage: stageName,
      params: parsed,
      root,
      input: path.join(root, mapIn, rel),
      rel,
      outDir: path.join(outRoot, rel),
      path: (r) => path.join(root, r),
      log: () => {},
    });
    parentPort!.postMessage({ rel, summary: res.summary ?? null });
  } catch (e) {
    parentPort!.postMessage({ rel, error: e instanceof Error ? e.message : String(e) });
  }
});
parentPort!.postMessage({ ready: true });
