/**
 * Starting one of our modules in a worker thread. Node 20 worker threads
 * ignore `--import` in execArgv, so a TypeScript worker starts from this tiny
 * CommonJS bootstrap that registers tsx's loader, then imports the real entry
 * (`workerData.entry`). Compiled (.js) workers skip the registration.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { tsxApiUrl } from './node-entry.ts';

const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  await import(workerData.entry);
})().catch((e) => { setImmediate(() => { throw e; }); });
`;

/**
 * Starts a worker thread running `entry` (an absolute path or file URL). The
 * worker sees `data` as its `workerData` (plus `entry` and `tsxApi`). tsx is
 * registered when `entry` or any of `alsoLoads` (modules the worker will
 * import, e.g. a user's stage) is TypeScript.
 */
export function startWorker(entry: string | URL, data: Record<string, unknown>, o: { alsoLoads?: string[]; options?: Omit<WorkerOptions, 'eval' | 'workerData'> } = {}): Worker {
  const href = entry instanceof URL ? entry.href : entry.startsWith('file:') ? entry : pathToFileURL(entry).href;
  const isTs = [href, ...(o.alsoLoads ?? [])].some((f) => f.endsWith('.ts'));
  return new Worker(BOOTSTRAP, { ...o.options, eval: true, workerData: { ...data, entry: href, tsxApi: isTs ? tsxApiUrl() : undefined } });
}
