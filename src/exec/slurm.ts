/**
 * The Slurm executor: every stage is a batch job, every per-item stage an
 * array job over chunks of its uncached items. The job runs pipe's own stage
 * entry (slurm-entry.ts) or the stage's command on a compute node; the runner
 * submits, waits (one shared squeue poll, see slurm-cli.ts), streams the job
 * log into the UI, and commits outputs afterwards exactly as for a local
 * stage. Everything a job needs and leaves is in its job folder, which is
 * keyed by the stage key and lives on the shared filesystem: a runner killed
 * while its jobs ran leaves them running, and the next `pipe run` finds them
 * there (job.json) and waits for them instead of submitting the work again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Resources } from '../model.ts';
import { failure, type Failure } from '../failure.ts';
import { err, ok, type Result } from '../util/result.ts';
import { CacheStore } from '../cache/store.ts';
import type { Executor, ItemExecutor, ItemTask, LogSink, StageJob } from './executor.ts';
import { entryModule, nodeArgsFor } from './node-entry.ts';
import { FINAL_STATES, FileTail, GONE, cancel, clusterHasGpus, queryStates, sbatchArgs, statesOf, submit, waitForJob } from './slurm-cli.ts';
import { parseMark, writeJsonAtomic, type ChunkLine, type JobRecord, type SlurmRequest } from './slurm-protocol.ts';
import { TailBuffer } from './tail.ts';

/** Items per array task when the stage does not say (resources.chunk). */
export const DEFAULT_CHUNK = 100;

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function readJob(jobDir: string): JobRecord | undefined {
  try {
    return JSON.parse(readFileSync(path.join(jobDir, 'job.json'), 'utf8')) as JobRecord;
  } catch {
    return undefined;
  }
}

/** A job of an earlier runner for the same stage key that still runs (or waits to). */
async function liveJob(jobDir: string): Promise<JobRecord | undefined> {
  const prev = readJob(jobDir);
  if (!prev) return undefined;
  const states = await queryStates([prev.jobId]);
  // squeue unreachable: assume it may still run rather than submit the work twice.
  if (!states) return prev;
  const mine = statesOf(prev.jobId, states);
  return [...mine.values()].some((s) => !FINAL_STATES.has(s)) ? prev : undefined;
}

/** What a finished whole-stage job left: its Result (built-in stage) or exit code (command). */
function finishedResult(jobDir: string, work: StageJob['work']): Result<void, Failure> | undefined {
  try {
    if (work.kind === 'stage') return JSON.parse(readFileSync(path.join(jobDir, 'result.json'), 'utf8')) as Result<void, Failure>;
    const code = readFileSync(path.join(jobDir, 'exit'), 'utf8').trim();
    return code === '0' ? ok(undefined) : undefined;
  } catch {
    return undefined;
  }
}

/** The environment lines of a job script. CUDA_VISIBLE_DEVICES is Slurm's to set on the node. */
function exports(env: Record<string, string>, r: Resources): string[] {
  const e: Record<string, string> = { ...env, PIPE_THREADS: String(Math.max(1, r.cpu)) };
  delete e.CUDA_VISIBLE_DEVICES;
  return Object.entries(e)
    .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .map(([k, v]) => `export ${k}=${q(v)}`);
}

function entryCommand(jobDir: string, modulePath: string | undefined): string {
  const entry = entryModule('src/exec/slurm-entry');
  const args = nodeArgsFor(entry, ...(modulePath ? [modulePath] : []));
  return [process.execPath, ...args, path.join(jobDir, 'request.json')].map(q).join(' ');
}

async function writeScript(jobDir: string, lines: string[]): Promise<string> {
  const script = path.join(jobDir, 'job.sh');
  await writeFile(script, ['#!/bin/sh', ...lines, ''].join('\n'), { mode: 0o755 });
  return script;
}

/** Waits for a job, streaming its log; on abort cancels it and waits until Slurm has ended it. */
async function follow(jobId: string, signal: AbortSignal, onTick: (states: Map<string, string>) => void): Promise<{ states: Map<string, string>; aborted: boolean }> {
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    void cancel([jobId]);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  try {
    const states = await waitForJob(jobId, onTick);
    return { states, aborted };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function logLines(tail: FileTail, log: LogSink, keep: TailBuffer, flush = false): void {
  for (const line of tail.read(flush)) {
    const m = parseMark(line);
    if (m?.progress) log.progress(m.progress);
    else if (m?.log !== undefined) log.line('info', m.log);
    else {
      keep.push(line);
      log.line('stdout', line);
    }
  }
}

/** A Slurm end state as a failure naming the job, its log and what to do. */
export function jobFailure(stage: string, jobId: string, state: string, logFile: string, r: Resources, tail: string[]): Failure {
  const at = `Slurm job ${jobId}`;
  const log = `; log: ${logFile}`;
  const extra = { stage, file: logFile, stderrTail: tail };
  switch (state) {
    case 'TIMEOUT':
      return failure('job-failed', `stage ${stage}: ${at} ran over its time limit (${r.time ? `--time=${r.time}` : 'the partition default'})${log}`, {
        ...extra,
        hint: 'raise resources.time for this stage in pipeline.yaml (checkpoints in its work folder are kept for the next run)',
      });
    case 'OUT_OF_MEMORY':
      return failure('job-failed', `stage ${stage}: ${at} ran out of memory (${r.mem ? `--mem=${r.mem}` : 'the partition default'})${log}`, {
        ...extra,
        hint: 'raise resources.mem, or lower the batch or image size',
      });
    case 'NODE_FAIL':
    case 'BOOT_FAIL':
      return failure('job-failed', `stage ${stage}: ${at} failed because its node failed (${state})${log}`, { ...extra, hint: 'run again; Slurm will pick another node' });
    case 'CANCELLED':
      return failure('job-failed', `stage ${stage}: ${at} was cancelled outside pipe (scancel or an administrator)${log}`, { ...extra, hint: 'run again when the cluster allows it' });
    case 'PREEMPTED':
    case 'DEADLINE':
      return failure('job-failed', `stage ${stage}: ${at} ended as ${state}${log}`, { ...extra, hint: 'run again' });
    case GONE:
      return failure('job-failed', `stage ${stage}: ${at} left the queue without leaving a result${log}`, { ...extra, hint: 'see the log; run again' });
    default:
      return failure('job-failed', `stage ${stage}: ${at} ended as ${state}${log}`, { ...extra, hint: 'see the job log for what went wrong' });
  }
}

/** Job options; a GPU stage on a cluster without GPUs runs on the CPU (as locally), and says so. */
async function jobArgs(r: Resources, log: LogSink, stage: string): Promise<string[]> {
  const gpus = r.gpu > 0 && !r.gres ? await clusterHasGpus() : true;
  if (!gpus) log.line('info', `the cluster offers no GPUs (sinfo shows no gpu gres): ${stage} runs on the CPU`);
  return sbatchArgs(r, gpus);
}

async function runStageJob(job: StageJob): Promise<Result<void, Failure>> {
  const { jobDir, work, stage } = job;
  await mkdir(jobDir, { recursive: true });
  let rec = await liveJob(jobDir);
  if (rec) {
    job.log.line('info', `waiting for Slurm job ${rec.jobId}, submitted for this stage by an earlier pipe run`);
  } else {
    // A job of an earlier runner that finished but was never committed.
    const done = readJob(jobDir) && finishedResult(jobDir, work);
    if (done?.ok) {
      job.log.line('info', `Slurm job ${readJob(jobDir)!.jobId} of an earlier pipe run already finished this stage`);
      return done;
    }
    if (job.signal.aborted) return err(failure('killed', `stage ${stage} not started: the run was interrupted`, { stage }));
    for (const f of ['result.json', 'exit', 'job.json']) await rm(path.join(jobDir, f), { force: true });
    const body =
      work.kind === 'cmd'
        ? [`/bin/sh -c ${q(work.cmd)}`]
        : (writeJsonAtomic(path.join(jobDir, 'request.json'), { kind: 'stage', modulePath: work.modulePath, init: work.init } satisfies SlurmRequest),
          [entryCommand(jobDir, work.modulePath)]);
    const script = await writeScript(jobDir, [
      `# pipe: stage ${stage}, key ${job.key}`,
      `cd ${q(job.cwd)} || exit 1`,
      ...exports(job.env, job.resources),
      ...body,
      'code=$?',
      `echo $code > ${q(path.join(jobDir, 'exit.tmp'))} && mv ${q(path.join(jobDir, 'exit.tmp'))} ${q(path.join(jobDir, 'exit'))}`,
      'exit $code',
    ]);
    const id = await submit(script, [`--job-name=pipe:${stage}`, `--output=${path.join(jobDir, 'slurm-%j.log')}`, `--chdir=${job.cwd}`, ...(await jobArgs(job.resources, job.log, stage))], stage);
    if (!id.ok) return id;
    rec = { jobId: id.value, submittedAt: new Date().toISOString() };
    writeJsonAtomic(path.join(jobDir, 'job.json'), rec);
    job.log.line('info', `submitted as Slurm job ${rec.jobId}`);
  }
  const logFile = path.join(jobDir, `slurm-${rec.jobId}.log`);
  const tail = new FileTail(logFile);
  const keep = new TailBuffer(20);
  const { states, aborted } = await follow(rec.jobId, job.signal, () => logLines(tail, job.log, keep));
  logLines(tail, job.log, keep, true);
  if (aborted) return err(failure('killed', `stage ${stage} was interrupted (Slurm job ${rec.jobId} cancelled)`, { stage, stderrTail: keep.lines() }));
  const state = states.get(rec.jobId) ?? GONE;
  const result = finishedResult(jobDir, work);
  // The stage's own failure (a built-in stage's message) says more than "FAILED".
  if (result && !result.ok) return result;
  if (result?.ok && (state === 'COMPLETED' || state === GONE)) return result;
  if (state === 'COMPLETED' && work.kind === 'stage') return err(jobFailure(stage, rec.jobId, GONE, logFile, job.resources, keep.lines()));
  if (state === 'FAILED' && work.kind === 'cmd') {
    const code = existsSync(path.join(jobDir, 'exit')) ? readFileSync(path.join(jobDir, 'exit'), 'utf8').trim() : '?';
    return err(failure('exit-non-zero', `stage ${stage}: command exited with code ${code} in Slurm job ${rec.jobId}; log: ${logFile}`, { stage, file: logFile, stderrTail: keep.lines() }));
  }
  return err(jobFailure(stage, rec.jobId, state, logFile, job.resources, keep.lines()));
}

/** Whole stages (built-in or `cmd:`) as Slurm batch jobs. */
export const slurmExecutor: Executor = {
  name: 'slurm',
  detached: true,
  resumable: async (jobDir) => (await liveJob(jobDir)) !== undefined || !!(readJob(jobDir) && existsSync(path.join(jobDir, 'exit')) && readFileSync(path.join(jobDir, 'exit'), 'utf8').trim() === '0'),
  run: runStageJob,
};

/** Splits items into chunks of `size`. */
export function chunked<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Per-item stages as a Slurm array job: one task per chunk of uncached items, each storing its items in the cache. */
export const slurmItemsExecutor: ItemExecutor = {
  name: 'slurm array',
  detached: true,
  open(spec) {
    const jobDir = spec.jobDir;
    return {
      run: async (items, signal, onItem) => {
        await mkdir(jobDir, { recursive: true });
        // An array of an earlier runner for this stage key: let it finish, then take what it recorded.
        const prev = await liveJob(jobDir);
        if (prev) {
          spec.log('', 'info', `waiting for Slurm job ${prev.jobId}, submitted for this stage by an earlier pipe run`);
          const { aborted } = await follow(prev.jobId, signal, () => {});
          if (aborted) return;
        }
        const store = new CacheStore(spec.cacheDir);
        const todo: ItemTask[] = [];
        for (const it of items) {
          if (store.getItemSync(it.key as never)) await onItem(it, ok({ kind: 'recorded' }));
          else todo.push(it);
        }
        if (todo.length === 0 || signal.aborted) return;

        const chunks = chunked(todo, spec.resources.chunk ?? DEFAULT_CHUNK);
        for (const f of ['job.json', ...chunks.map((_, i) => `chunk-${i}.jsonl`)]) await rm(path.join(jobDir, f), { force: true });
        const req: SlurmRequest = {
          kind: 'items',
          stage: spec.stage,
          ...(spec.work.kind === 'stage' ? { modulePath: spec.work.modulePath, params: spec.work.params } : { params: null }),
          root: spec.root,
          cwd: spec.cwd,
          cacheDir: spec.cacheDir,
          jobDir,
          chunks: chunks.map((c) => c.map((t) => ({ key: t.key, rel: t.rel, input: t.input, outDir: t.outDir, ...(t.cmd ? { cmd: t.cmd } : {}) }))),
        };
        writeJsonAtomic(path.join(jobDir, 'request.json'), req);
        const script = await writeScript(jobDir, [
          `# pipe: per-item stage ${spec.stage}, key ${spec.key}, ${todo.length} items in ${chunks.length} chunks`,
          `cd ${q(spec.cwd)} || exit 1`,
          ...exports(spec.env, spec.resources),
          entryCommand(jobDir, spec.work.kind === 'stage' ? spec.work.modulePath : undefined),
        ]);
        const id = await submit(
          script,
          [
            `--job-name=pipe:${spec.stage}`,
            `--array=0-${chunks.length - 1}`,
            `--output=${path.join(jobDir, 'slurm-%A_%a.log')}`,
            `--chdir=${spec.cwd}`,
            ...(await jobArgs(spec.resources, { line: (st, l) => spec.log('', st, l), progress: () => {} }, spec.stage)),
          ],
          spec.stage,
        );
        if (!id.ok) {
          for (const it of todo) await onItem(it, id);
          return;
        }
        const jobId = id.value;
        writeJsonAtomic(path.join(jobDir, 'job.json'), { jobId, submittedAt: new Date().toISOString(), items: todo.map((t) => t.key) } satisfies JobRecord);
        spec.log('', 'info', `submitted ${todo.length} items as Slurm array job ${jobId} (${chunks.length} tasks of up to ${spec.resources.chunk ?? DEFAULT_CHUNK})`);

        const byKey = new Map(todo.map((t) => [t.key, t]));
        const reported = new Set<string>();
        const results = chunks.map((_, i) => new FileTail(path.join(jobDir, `chunk-${i}.jsonl`)));
        const logs = chunks.map((_, i) => new FileTail(path.join(jobDir, `slurm-${jobId}_${i}.log`)));
        const keeps = chunks.map(() => new TailBuffer(20));
        // Item results arrive while the array runs; handed to the runner one at a time, in order.
        let queue = Promise.resolve();
        const drain = (flush: boolean) => {
          logs.forEach((t, i) => {
            for (const line of t.read(flush)) {
              keeps[i]!.push(line);
              spec.log('', 'stdout', line);
            }
          });
          for (const t of results) {
            for (const line of t.read(flush)) {
              let l: ChunkLine;
              try {
                l = JSON.parse(line) as ChunkLine;
              } catch {
                continue;
              }
              const it = byKey.get(l.key);
              if (!it || reported.has(l.key)) continue;
              reported.add(l.key);
              queue = queue.then(() => onItem(it, l.ok ? ok({ kind: 'recorded' }) : err(l.failure)));
            }
          }
        };
        const { states, aborted } = await follow(jobId, signal, () => drain(false));
        drain(true);
        await queue;
        if (aborted) return;
        // Items a task never reported: its end state says why (TIMEOUT, OUT_OF_MEMORY, ...).
        for (const [i, chunk] of chunks.entries()) {
          const state = states.get(`${jobId}_${i}`) ?? states.get(jobId) ?? GONE;
          const logFile = path.join(jobDir, `slurm-${jobId}_${i}.log`);
          for (const it of chunk) {
            if (reported.has(it.key)) continue;
            await onItem(it, err(jobFailure(spec.stage, `${jobId}_${i}`, state === 'COMPLETED' ? GONE : state, logFile, spec.resources, keeps[i]!.lines())));
          }
        }
      },
      close: async () => {},
    };
  },
};
