/**
 * A small worker_threads pool for stages (the one `synth` renders with): each
 * worker takes the next job as soon as it posts a result, results are handled
 * by an async callback (encoding, writing) while the workers go on working.
 * Works from the TypeScript sources and from the bundle alike (worker-boot.ts).
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from './worker-boot.ts';

export interface PoolOptions<J, R> {
  /** Worker module (.ts or .js), e.g. `pathToFileURL(entryModule('stages/x/worker'))`. */
  entry: URL;
  /** Passed to every worker as `workerData.data` (structured-cloned). */
  data: unknown;
  threads: number;
  jobs: readonly J[];
  signal: AbortSignal;
  /** Called for each result in arrival order; its promise is awaited before finishing. */
  onResult(result: R): Promise<void>;
}

/** Runs every job on a pool of workers; rejects on the first error or on abort, terminating the workers. */
export function runPool<J, R>(o: PoolOptions<J, R>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const n = Math.max(1, Math.min(o.threads, o.jobs.length));
    const workers: Worker[] = [];
    const handling: Promise<void>[] = [];
    let next = 0;
    let received = 0;
    let settled = false;

    const finish = (e?: unknown): void => {
      if (settled) return;
      settled = true;
      o.signal.removeEventListener('abort', onAbort);
      for (const w of workers) void w.terminate();
      if (e !== undefined) reject(e);
      else resolve();
    };
    const onAbort = (): void => finish(o.signal.reason ?? new Error('aborted'));
    if (o.signal.aborted) return onAbort();
    o.signal.addEventListener('abort', onAbort, { once: true });
    if (o.jobs.length === 0) return finish();

    for (let i = 0; i < n; i++) {
      const w = startWorker(o.entry, { data: o.data });
      workers.push(w);
      const feed = (): void => {
        if (next < o.jobs.length) w.postMessage(o.jobs[next++]);
      };
      w.on('message', (r: R) => {
        received++;
        handling.push(o.onResult(r).catch((e: unknown) => finish(e)));
        feed();
        if (received === o.jobs.length) {
          Promise.all(handling).then(
            () => finish(),
            (e: unknown) => finish(e),
          );
        }
      });
      w.on('error', (e) => finish(e));
      w.on('exit', (code) => {
        if (!settled && received < o.jobs.length) finish(new Error(`worker ${o.entry.pathname} exited with code ${code} before finishing`));
      });
      feed();
    }
  });
}
