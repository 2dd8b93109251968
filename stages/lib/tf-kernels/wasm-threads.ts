import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Whether tfjs-backend-wasm's threaded (pthreads + SIMD) build gives more than
 * one XNNPACK thread in this Node.
 *
 * Found on Node 20 with tfjs-backend-wasm 4.22: no. tfjs refuses threads under
 * Node (its WASM_HAS_MULTITHREAD_SUPPORT flag is false when IS_NODE, tfjs issue
 * #3830); forcing the flag makes initialisation fail, because the pthread
 * worker is handed to worker_threads as a blob: URL (ERR_WORKER_PATH). Patching
 * around that (worker and main script written to files) initialises the
 * threaded module, but XNNPACK's pool still reports 1 thread and no pthread is
 * ever started — so the SIMD build is the one to use.
 *
 * The probe runs in a child process (initialising a backend is process-global
 * and cannot be undone) and is memoised; it takes about a second. It reports
 * what tfjs's own threaded path does, so a future tfjs that fixes Node threads
 * turns it true without code changes here.
 */
export function wasmThreadingSupported(): Promise<boolean> {
  probe ??= runProbe();
  return probe;
}

let probe: Promise<boolean> | undefined;

function runProbe(): Promise<boolean> {
  const require = createRequire(import.meta.url);
  const core = require.resolve('@tensorflow/tfjs-core');
  const wasm = require.resolve('@tensorflow/tfjs-backend-wasm');
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  const script = `
const tf = require(${JSON.stringify(core)});
const wasm = require(${JSON.stringify(wasm)});
wasm.setWasmPaths(${JSON.stringify(dist + path.sep)});
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
wasm.setThreadsCount(2);
const done = (threads) => { process.stdout.write(JSON.stringify({ threads })); process.exit(0); };
tf.setBackend('wasm').then((ok) => { let n = 0; try { n = ok ? wasm.getThreadsCount() : 0; } catch {} done(n); }, () => done(0));
`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { timeout: 30_000, maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error != null && stdout.length === 0) return resolve(false);
      try {
        const { threads } = JSON.parse(stdout) as { threads: number };
        resolve(threads > 1);
      } catch {
        resolve(false);
      }
    });
  });
}
