/**
 * Body of an item-pool worker thread: imports the per-item stage module once,
 * then processes items one at a time as the pool sends them. A throwing item
 * is reported as that item's failure and the worker carries on.
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { failure } from '../failure.ts';
import type { PerItemStage, Stage } from '../stage-api.ts';
import { err } from '../util/result.ts';
import type { ItemInit, PoolRequest, WorkerReply } from './item-protocol.ts';
import { runItem } from './item-run.ts';

const { modulePath } = workerData as { modulePath: string };

async function load(): Promise<PerItemStage> {
  const mod = (await import(pathToFileURL(modulePath).href)) as { default?: Stage };
  const stage = mod.default;
  if (!stage || stage.kind !== 'per-item') throw new Error(`${modulePath} must export a default per-item stage (kind: 'per-item')`);
  return stage;
}

function post(m: WorkerReply): void {
  parentPort!.postMessage(m);
}

async function processOne(id: number, item: ItemInit): Promise<void> {
  const result = await runItem(loaded, item, (line) => post({ type: 'log', id, line }));
  try {
    post({ type: 'result', id, result });
  } catch (e) {
    // A summary that cannot be cloned (functions, class instances) is the stage's bug, reported on this item.
    post({ type: 'result', id, result: err(failure('stage-error', `stage ${item.stage}: ${item.rel}: item summary is not plain JSON (${(e as Error).message})`, { stage: item.stage, file: item.input })) });
  }
}

// A worker exists only to run this stage's items: load the stage while the
// first item is still on its way (a failure is reported on each item).
const loaded = load();
loaded.catch(() => {});

parentPort!.on('message', (m: PoolRequest) => {
  void processOne(m.id, m.item);
});
