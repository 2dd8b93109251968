/**
 * A worker_threads pool that runs a per-item stage's `processItem` on many
 * files. It only runs items: the engine decides which items need running and
 * owns their cache. Each worker imports the stage module once and handles one
 * item at a time; a worker that dies (process.exit, out of memory) fails its
 * item and is replaced, so one bad image cannot take the whole stage down.
 */
import { createInterface } from 'node:readline';
import type { Worker } from 'node:worker_threads';
import { failure, type Failure } from '../failure.ts';
import type { ItemResult } from '../stage-api.ts';
import { err, type Result } from '../util/result.ts';
import type { ItemInit, PoolRequest, WorkerReply } from './item-protocol.ts';
import { entryModule } from './node-entry.ts';
import { startWorker } from './worker-boot.ts';
import { inLanes } from './lanes.ts';
import type { ItemExecutor } from './executor.ts';
import { ok } from '../util/result.ts';
import { mkdir } from 'node:fs/promises';

export type { ItemInit } from './item-protocol.ts';

export interface ItemPool {
  /** Queues one item; resolves with its result. Call it for all items at once: at most `size` run concurrently. */
  run(item: ItemInit): Promise<Result<ItemResult, Failure>>;
  /**
   * Starts one worker now if none is running, so its start-up (a fresh
   * isolate, the stage's modules) overlaps with whatever the caller does
   * before the first item.
   */
  warm(): void;
  /** Fails queued items as 'killed', terminates the workers. */
  close(): Promise<void>;
}

export interface ItemPoolOptions {
  /** Absolute path of the stage module (default export: a per-item stage). */
  modulePath: string;
  /** Number of worker threads (at least 1). */
  size: number;
  /** Lines from `ctx.log` and the worker's stdout/stderr, with the item they came from. */
  onLog(rel: string, line: string): void;
}

type Settle = (r: Result<ItemResult, Failure>) => void;
interface Job {
  id: number;
  item: ItemInit;
  settle: Settle;
}
interface Slot {
  worker: Worker;
  job: Job | undefined;
  /** Last 'error' event (uncaught exception, out of memory) before the worker exits. */
  error: string | undefined;
}

/** Creates a pool; workers start lazily as items arrive. */
export function createItemPool(o: ItemPoolOptions): ItemPool {
  const size = Math.max(1, Math.floor(o.size) || 1);
  const entry = entryModule('src/exec/item-worker');
  const slots = new Set<Slot>();
  const queue: Job[] = [];
  let nextId = 1;
  let closed = false;

  const spawnSlot = (): Slot => {
    const worker = startWorker(
      entry,
      { modulePath: o.modulePath },
      // Capture console output instead of letting it reach the runner's terminal.
      { alsoLoads: [o.modulePath], options: { stdout: true, stderr: true } },
    );
    const slot: Slot = { worker, job: undefined, error: undefined };
    slots.add(slot);
    for (const stream of [worker.stdout, worker.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => o.onLog(slot.job?.item.rel ?? '', line));
    }
    worker.on('message', (m: WorkerReply) => {
      const job = slot.job;
      if (!job || m.id !== job.id) return;
      if (m.type === 'log') o.onLog(job.item.rel, m.line);
      else {
        slot.job = undefined;
        job.settle(m.result);
        dispatch();
      }
    });
    worker.on('error', (e) => {
      slot.error = e.message;
    });
    worker.on('exit', (code) => {
      slots.delete(slot);
      const job = slot.job;
      slot.job = undefined;
      if (job) {
        const why = closed ? 'the pool was closed' : slot.error ? `its worker crashed: ${slot.error}` : `its worker exited with code ${code}`;
        job.settle(
          err(
            failure(closed ? 'killed' : 'stage-error', `stage ${job.item.stage}: ${job.item.rel}: ${why}`, {
              stage: job.item.stage,
              file: job.item.input,
              hint: closed ? undefined : 'the item was not processed; a fresh worker continues with the other items',
            }),
          ),
        );
      }
      dispatch(); // replaces the dead worker if items are waiting
    });
    return slot;
  };

  const dispatch = () => {
    if (closed) return;
    while (queue.length > 0) {
      let slot: Slot | undefined;
      for (const s of slots) if (!s.job) { slot = s; break; }
      if (!slot) {
        if (slots.size >= size) return;
        slot = spawnSlot();
      }
      const job = queue.shift()!;
      slot.job = job;
      const req: PoolRequest = { id: job.id, item: job.item };
      slot.worker.postMessage(req);
    }
  };

  return {
    run(item) {
      if (closed) return Promise.resolve(err(failure('killed', `stage ${item.stage}: ${item.rel}: the item pool is closed`, { stage: item.stage, file: item.input })));
      return new Promise((resolve) => {
        queue.push({ id: nextId++, item, settle: resolve });
        dispatch();
      });
    },
    warm() {
      if (!closed && slots.size === 0) spawnSlot();
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) {
        job.settle(err(failure('killed', `stage ${job.item.stage}: ${job.item.rel}: the pool was closed before it ran`, { stage: job.item.stage, file: job.item.input })));
      }
      await Promise.all([...slots].map((s) => s.worker.terminate()));
    },
  };
}


/** Built-in per-item stages on this machine: worker threads, one item at a time each. */
export const itemPoolExecutor: ItemExecutor = {
  name: 'worker threads per item',
  open(spec) {
    if (spec.work.kind !== 'stage') throw new Error(`item pool given a cmd stage (${spec.stage})`);
    const { modulePath, params } = spec.work;
    const pool = createItemPool({ modulePath, size: Math.max(1, spec.grant.cpu), onLog: (rel, line) => spec.log(rel, 'info', line) });
    // One worker starts now: the stage runs because something changed, so at least
    // one item most likely needs it, and its start-up overlaps with placing the cached items.
    pool.warm();
    return {
      run: async (items, signal, onItem) => {
        // Two items per worker in flight: the next one waits in the pool while the main thread records the last.
        await inLanes(items, 2 * Math.max(1, spec.grant.cpu), signal, async (it) => {
          await mkdir(it.outDir, { recursive: true });
          const r = await pool.run({ stage: spec.stage, params, root: spec.root, input: it.input, rel: it.rel, outDir: it.outDir });
          if (signal.aborted && !r.ok) return;
          await onItem(it, r.ok ? ok({ kind: 'output', result: r.value }) : r);
        });
      },
      close: () => pool.close(),
    };
  },
};
