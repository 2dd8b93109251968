/**
 * The Slurm commands pipe uses, as functions: `sbatch` to submit, one shared
 * `squeue` poll for the states of every job this runner waits for (never a
 * busy loop: the interval grows from 250 ms to 2 s while nothing changes),
 * `scancel` to cancel. Also the tail of a job's log file, read on each poll.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Resources } from '../model.ts';
import { failure, type Failure } from '../failure.ts';
import { err, ok, type Result } from '../util/result.ts';

/** States after which a job never runs again (squeue %T). */
export const FINAL_STATES = new Set([
  'COMPLETED',
  'FAILED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'CANCELLED',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'SPECIAL_EXIT',
  'REVOKED',
]);

/** Not in the controller's memory any more (purged after MinJobAge, or never existed). */
export const GONE = 'GONE';

function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string; error?: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (e, stdout, stderr) => {
      const code = e ? (typeof (e as { code?: unknown }).code === 'number' ? ((e as { code: number }).code) : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ...(e && code === -1 ? { error: e.message } : {}) });
    });
  });
}

/**
 * sbatch options for a stage's resources (named keys first, then the
 * pass-through flags). `gpusAvailable: false` (a cluster without GPU gres)
 * leaves out --gpus, so a GPU stage runs on the CPU as it does on a machine
 * without GPUs; an explicit `gres` is always passed.
 */
export function sbatchArgs(r: Resources, gpusAvailable = true): string[] {
  const a = [`--cpus-per-task=${Math.max(1, r.cpu)}`];
  if (r.gres) a.push(`--gres=${r.gres}`);
  else if (r.gpu > 0 && gpusAvailable) a.push(`--gpus=${r.gpu}`);
  if (r.mem) a.push(`--mem=${r.mem}`);
  if (r.time) a.push(`--time=${r.time}`);
  if (r.partition) a.push(`--partition=${r.partition}`);
  if (r.account) a.push(`--account=${r.account}`);
  return [...a, ...(r.sbatch ?? [])];
}

/** Submits `script`; the job id, or a failure carrying sbatch's own message. */
export async function submit(script: string, args: string[], stage: string): Promise<Result<string, Failure>> {
  const r = await run('sbatch', ['--parsable', ...args, script]);
  const id = r.stdout.trim().split(';')[0] ?? '';
  if (r.code === 0 && /^\d+$/.test(id)) return ok(id);
  const why = r.error ?? (r.stderr.trim() || `sbatch exited with code ${r.code}`);
  return err(
    failure('job-failed', `stage ${stage}: could not submit its Slurm job: ${why}`, {
      stage,
      hint: r.error?.includes('ENOENT') ? 'sbatch is not on PATH: run pipe on a Slurm login node, or use --executor local' : 'check the stage\'s resources (partition, account, time) against `sinfo`',
    }),
  );
}

let gpuGres: Promise<boolean> | undefined;

/** Whether any node of the cluster offers GPUs (a `gpu` generic resource), asked once per runner. */
export function clusterHasGpus(): Promise<boolean> {
  gpuGres ??= run('sinfo', ['-h', '-o', '%G']).then((r) => r.code !== 0 || /(^|,)gpu/m.test(r.stdout));
  return gpuGres;
}

export async function cancel(ids: string[]): Promise<void> {
  if (ids.length) await run('scancel', ids);
}

/**
 * States of the given jobs: `id -> state` for plain jobs, `id_task -> state`
 * for array tasks (one line per task). undefined when squeue itself failed
 * (controller unreachable): the caller keeps waiting.
 */
export async function queryStates(ids: string[]): Promise<Map<string, string> | undefined> {
  const r = await run('squeue', ['-h', '-r', '-t', 'all', '-o', '%i|%T', '-j', ids.join(',')]);
  const states = new Map<string, string>();
  if (r.code !== 0) return /invalid job id/i.test(r.stderr) ? states : undefined;
  for (const line of r.stdout.split('\n')) {
    const [id, state] = line.trim().split('|');
    if (id && state) states.set(id, state.replace(/\+$/, ''));
  }
  return states;
}

type Listener = (states: Map<string, string>) => void;

/** One squeue call per tick for every job being waited on. */
class Poller {
  private readonly listeners = new Map<Listener, string>();
  private timer: NodeJS.Timeout | undefined;
  private interval = 250;
  private running = false;

  watch(jobId: string, l: Listener): () => void {
    this.listeners.set(l, jobId);
    this.interval = 250; // a new job: look soon
    this.schedule();
    return () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0 && this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    };
  }

  private schedule(): void {
    if (this.timer || this.running || this.listeners.size === 0) return;
    this.timer = setTimeout(() => void this.tick(), this.interval);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    this.running = true;
    const ids = [...new Set(this.listeners.values())];
    const states = await queryStates(ids);
    this.running = false;
    if (states) for (const l of [...this.listeners.keys()]) l(states);
    this.interval = Math.min(2000, Math.round(this.interval * 1.5));
    this.schedule();
  }
}

const poller = new Poller();

/** The states of one job (plain: `[state]`; array: one per task) as far as squeue knows them. */
export function statesOf(jobId: string, all: Map<string, string>): Map<string, string> {
  const mine = new Map<string, string>();
  for (const [id, st] of all) if (id === jobId || id.startsWith(`${jobId}_`)) mine.set(id, st);
  return mine;
}

/**
 * Calls `onTick` on every poll with the job's states, and resolves with them
 * once every task is final (or the job is gone from the controller).
 */
export function waitForJob(jobId: string, onTick: (states: Map<string, string>) => void): Promise<Map<string, string>> {
  return new Promise((resolve) => {
    const stop = poller.watch(jobId, (all) => {
      const mine = statesOf(jobId, all);
      onTick(mine);
      const done = mine.size === 0 || [...mine.values()].every((s) => FINAL_STATES.has(s));
      if (done) {
        stop();
        resolve(mine.size === 0 ? new Map([[jobId, GONE]]) : mine);
      }
    });
  });
}

/** The lines appended to a file since the last read (a job's log on a shared filesystem; no inotify there). */
export class FileTail {
  private offset = 0;
  private partial = '';
  constructor(readonly file: string) {}

  /** New complete lines; `flush` also returns a last line without its newline. */
  read(flush = false): string[] {
    let size: number;
    try {
      size = statSync(this.file).size;
    } catch {
      return [];
    }
    if (size > this.offset) {
      const buf = Buffer.alloc(Math.min(size - this.offset, 4 << 20));
      const fd = openSync(this.file, 'r');
      try {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        this.offset += n;
        this.partial += buf.subarray(0, n).toString('utf8');
      } finally {
        closeSync(fd);
      }
    }
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    if (flush && this.partial) {
      lines.push(this.partial);
      this.partial = '';
    }
    return lines;
  }
}
