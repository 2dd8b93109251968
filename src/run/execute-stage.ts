/**
 * Runs, restores or confirms one stage and returns its new lock entry. A
 * failed or interrupted stage leaves previous outputs, the cache and the lock
 * as they were: built-in stages write to temp folders swapped in on success;
 * `cmd:` stages write in place, so their previous outputs are stored in the
 * cache first and put back on failure.
 */
import path from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import type { Failure } from '../failure.ts';
import { toFailure } from '../failure.ts';
import type { Result } from '../util/result.ts';
import { err, ok } from '../util/result.ts';
import type { Session } from './session.ts';
import type { StageAssessment } from '../plan/assess.ts';
import type { LockEntry } from '../lock/lockfile.ts';
import type { PathHash } from '../hash/tree.ts';
import { StatCache } from '../hash/stat-cache.ts';
import { trackedOuts } from '../plan/outputs.ts';
import type { StageInit } from '../exec/stage-init.ts';
import { stageEnv, type Executor, type Grant, type LogSink, type StageJob, type StageWork } from '../exec/executor.ts';
import { itemExecutor, stageExecutor, whereRuns, type ExecutorName } from '../exec/executors.ts';
import type { ExecEnv } from './exec-env.ts';
import { commitInPlaceOuts, commitTempOuts, lockEntryFor, saveRunRecord } from './commit.ts';
import { restoreOutput } from './restore.ts';
import { runPerItem, type PerItemOptions } from './per-item.ts';
import type { OutOverlay } from './out-overlay.ts';

export type { ExecEnv } from './exec-env.ts';
export type { Grant } from '../exec/executor.ts';

export type StageOutcome = {
  entry: LockEntry;
  how: 'ran' | 'restored' | 'up-to-date';
  /** The outputs' hashes as committed (ran or restored): the next stages need not hash them again. */
  outs?: Record<string, PathHash>;
};

const now = () => Date.now();

async function restoreFromCache(s: Session, a: StageAssessment): Promise<Result<Record<string, PathHash>, Failure>> {
  const rec = a.cached!;
  const outs: Record<string, PathHash> = {};
  for (const t of trackedOuts(a.stage)) {
    const r = rec.outs[t.path]!;
    const current = a.outs[t.path];
    if (current?.hash === r.hash) {
      outs[t.path] = current;
      continue;
    }
    const restored = await restoreOutput(s, r, t.path, path.basename(s.pipelineFile));
    if (!restored.ok) return err({ ...restored.error, stage: a.stage.name });
    outs[t.path] = restored.value;
  }
  return ok(outs);
}

/** Confirms an up-to-date stage: its lock entry, refreshed with current hashes. */
function upToDateEntry(s: Session, a: StageAssessment): LockEntry {
  const prev = s.lock.stages[a.stage.name];
  const outs = Object.fromEntries(Object.entries(a.outs).filter((e): e is [string, PathHash] => e[1] !== null));
  return lockEntryFor(a, outs, prev?.durationMs ?? 0, prev ? new Date(prev.ranAt) : new Date());
}

export async function executeStage(s: Session, a: StageAssessment, grant: Grant, env: ExecEnv): Promise<Result<StageOutcome, Failure>> {
  const stage = a.stage;
  if (a.action === 'up-to-date') {
    env.emit({ type: 'stage-up-to-date', time: now(), stage: stage.name });
    return ok({ entry: upToDateEntry(s, a), how: 'up-to-date' });
  }
  const started = now();
  if (a.action === 'restore' && a.cached) {
    const restored = await restoreFromCache(s, a);
    if (restored.ok) {
      env.emit({ type: 'stage-restored', time: now(), stage: stage.name, durationMs: now() - started });
      const prev = s.lock.stages[stage.name];
      const entry = lockEntryFor(a, restored.value, a.cached.durationMs, prev?.key === a.key ? new Date(prev.ranAt) : new Date(a.cached.createdAt));
      return ok({ entry, how: 'restored', outs: restored.value });
    }
    env.emit({ type: 'warning', time: now(), stage: stage.name, message: `${restored.error.message}; running the stage instead` });
  }

  const last = s.lock.stages[stage.name];
  env.emit({
    type: 'stage-started',
    time: started,
    stage: stage.name,
    reasons: a.reasons,
    executor: executorName(s, a, env),
    ...(grant.gpus.length ? { gpu: grant.gpus.join(',') } : {}),
    ...(last ? { expectedMs: last.durationMs } : {}),
  });
  let result: Result<Record<string, PathHash>, Failure>;
  try {
    result = stage.kind === 'cmd' && !stage.map ? await runCmdStage(s, a, grant, env) : await runBuiltinOrMapped(s, a, grant, env);
  } catch (e) {
    result = err(toFailure(e, stage.name));
  }
  const durationMs = now() - started;
  if (!result.ok) {
    let f = { ...result.error, stage: result.error.stage ?? stage.name };
    // A write that failed on a file descriptor (ENOSPC) carries no path: say where the stage was writing.
    if (f.kind === 'io' && !f.file) {
      const where = path.relative(s.root, env.ws.tmpRoot) || env.ws.tmpRoot;
      f = { ...f, file: where, message: `${f.message} (while writing the stage's outputs under ${where}/)` };
    }
    return err(env.signal.aborted && f.kind !== 'killed' ? { ...f, kind: 'killed', message: `stage ${stage.name} was interrupted` } : f);
  }
  await saveRunRecord(s, a, result.value, durationMs);
  // Checkpoints are only for resuming this key; a finished run needs none.
  await rm(env.ws.workDir(stage.name, a.key), { recursive: true, force: true });
  await rm(env.ws.jobDir(stage.name, a.key), { recursive: true, force: true });
  env.emit({ type: 'stage-finished', time: now(), stage: stage.name, durationMs });
  return ok({ entry: lockEntryFor(a, result.value, durationMs, new Date(started)), how: 'ran', outs: result.value });
}

/** Where a stage runs: its own `executor:`, else `pipe run --executor`, else the file's `executor:`, else here. */
export function executorOf(s: Session, a: StageAssessment, env: ExecEnv): ExecutorName {
  return whereRuns(a.stage, s.graph.pipeline, env.executor);
}

/**
 * Temp outputs of a stage run by a detached executor: in the stage key's job
 * folder, kept if a job of an earlier runner may still write there or left a
 * result, else emptied.
 */
async function keyedTemp(s: Session, a: StageAssessment, env: ExecEnv): Promise<string> {
  const jobDir = env.ws.jobDir(a.stage.name, a.key);
  const tmp = path.join(jobDir, 'tmp');
  if (!(await wholeExecutor(s, a, env).resumable?.(jobDir))) await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  return tmp;
}

function executorName(s: Session, a: StageAssessment, env: ExecEnv): string {
  const st = a.stage;
  const where = executorOf(s, a, env);
  if (st.map) return itemExecutor(where, st.kind === 'cmd').name;
  return stageExecutor(where, { cmd: st.kind === 'cmd', ownProcess: ownProcess(s, a) }).name;
}

function ownProcess(s: Session, a: StageAssessment): boolean {
  const st = a.stage;
  if (st.kind === 'cmd') return false;
  const b = s.builtins.get(st.uses!)!.stage;
  return st.resources.gpu > 0 || (b.kind === 'whole' && b.isolate === true);
}

function logSink(a: StageAssessment, env: ExecEnv): LogSink {
  return {
    progress: (p) => env.emit({ type: 'stage-progress', time: now(), stage: a.stage.name, progress: p }),
    line: (stream, line) => env.emit({ type: 'stage-log', time: now(), stage: a.stage.name, stream, line }),
  };
}

/** Runs one whole stage (command or built-in entry) on the executor chosen for it. */
function runOn(s: Session, a: StageAssessment, grant: Grant, env: ExecEnv, work: StageWork): Promise<Result<void, Failure>> {
  const st = a.stage;
  const job: StageJob = {
    stage: st.name,
    key: a.key,
    work,
    env: stageEnv(st.name, grant, env.hasGpus, st.env, st.params),
    cwd: work.kind === 'cmd' ? path.join(s.root, st.wdir) : s.root,
    grant,
    resources: st.resources,
    jobDir: env.ws.jobDir(st.name, a.key),
    log: logSink(a, env),
    signal: env.signal,
  };
  return wholeExecutor(s, a, env).run(job);
}

function wholeExecutor(s: Session, a: StageAssessment, env: ExecEnv): Executor {
  return stageExecutor(executorOf(s, a, env), { cmd: a.stage.kind === 'cmd', ownProcess: ownProcess(s, a) });
}

async function runCmdStage(s: Session, a: StageAssessment, grant: Grant, env: ExecEnv): Promise<Result<Record<string, PathHash>, Failure>> {
  const stage = a.stage;
  // Keep what the command will overwrite: store previous outputs, then clear
  // them so the command starts clean and a forgotten output is noticed.
  const previous: { abs: string; h: PathHash }[] = [];
  // Unless a cluster job of an earlier runner is still writing them.
  const resuming = (await wholeExecutor(s, a, env).resumable?.(env.ws.jobDir(stage.name, a.key))) ?? false;
  for (const t of resuming ? [] : trackedOuts(stage)) {
    const abs = path.join(s.root, t.path);
    const h = a.outs[t.path];
    if (!h || !t.cache) continue;
    await s.store.storePath(abs, h);
    previous.push({ abs, h });
  }
  for (const p of previous) await rm(p.abs, { recursive: true, force: true });
  for (const t of trackedOuts(stage)) await mkdir(path.dirname(path.join(s.root, t.path)), { recursive: true });

  const putBack = async (): Promise<void> => {
    for (const t of trackedOuts(stage)) if (t.cache) await rm(path.join(s.root, t.path), { recursive: true, force: true });
    for (const p of previous) await s.store.restorePath(p.h, p.abs);
  };
  const run = await runOn(s, a, grant, env, { kind: 'cmd', cmd: stage.cmd! });
  if (!run.ok) {
    await putBack();
    return run;
  }
  const committed = await commitInPlaceOuts(s, stage);
  if (!committed.ok) await putBack();
  return committed;
}

async function runBuiltinOrMapped(s: Session, a: StageAssessment, grant: Grant, env: ExecEnv): Promise<Result<Record<string, PathHash>, Failure>> {
  const stage = a.stage;
  const tmp = stage.map || !wholeExecutor(s, a, env).detached ? await env.ws.stageTemp(stage.name) : await keyedTemp(s, a, env);
  const redirects = trackedOuts(stage).map((t, i) => ({ rel: t.path, abs: path.join(tmp, `out${i}`) }));
  const workDir = env.ws.workDir(stage.name, a.key);
  await mkdir(workDir, { recursive: true });
  const init: StageInit = { stage: stage.name, params: stage.params, root: s.root, redirects, workDir, gpus: grant.gpus, threads: grant.cpu };
  let run: Result<void, Failure>;
  const tempStat = await StatCache.load(path.join(tmp, 'no-stat-cache.json'));
  let overlay: { rel: string; out: OutOverlay } | undefined;
  if (stage.map) {
    const o: PerItemOptions = { tmp, redirects, init, tempStat, executor: itemExecutor(executorOf(s, a, env), stage.kind === 'cmd') };
    run = await runPerItem(s, a, grant, env, o);
    if (o.overlay) overlay = { rel: stage.map.out, out: o.overlay };
  } else {
    const b = s.builtins.get(stage.uses!)!;
    if (b.stage.kind !== 'whole') throw new Error(`per-item stage ${stage.uses} without map`);
    run = await runOn(s, a, grant, env, { kind: 'stage', modulePath: b.modulePath, init, loaded: b.stage });
  }
  if (!run.ok) return run;
  return commitTempOuts(s, stage, redirects, path.join(tmp, 'trash'), tempStat, overlay);
}
