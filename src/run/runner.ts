/**
 * `pipe run`: plan, schedule, execute, and commit the lock last. The lock file
 * is written once, at the end, with the entries of every stage that finished
 * (so a SIGKILL of the runner leaves it untouched); the run cache already
 * holds each finished stage, so the next run picks up where this one stopped.
 */
import type { Failure } from '../failure.ts';
import type { PipeEvent, Reporter, RunSummary } from '../events.ts';
import { saveHashCaches, type Session } from './session.ts';
import { planStages } from '../plan/plan.ts';
import { assessStage } from '../plan/assess.ts';
import { schedule } from '../sched/scheduler.ts';
import { acquireRepoLock } from '../lock/repo-lock.ts';
import { writeLock, serializeLock, type LockEntry, type LockFile } from '../lock/lockfile.ts';
import { RunWorkspace } from './workspace.ts';
import { sweepCacheTemps } from './temp-sweep.ts';
import { executeStage } from './execute-stage.ts';
import { trackedOuts } from '../plan/outputs.ts';
import type { ExecutorName } from '../model.ts';
import type { Digest } from '../hash/digest.ts';
import { whereRuns } from '../exec/executors.ts';

export interface RunOptions {
  /** Stage names to run (with their upstream); all when empty. */
  names: string[];
  /** Stages to run even when up to date (`--force`: the named targets, or all). */
  forced: Set<string>;
  dryRun: boolean;
  jobs: number;
  gpus: string[];
  keepGoing: boolean;
  /** Wait for another `pipe run` in the same repo instead of refusing. */
  wait: boolean;
  reporter: Reporter;
  signal: AbortSignal;
  /** Where stages without their own `executor:` run (over pipeline.yaml's default). */
  executor?: ExecutorName;
  /**
   * `pipe run --pull`: asked for a stage about to run; fetches its run record
   * and outputs for `key` from the remote into the cache and says whether it
   * did, so the stage is restored instead of run.
   */
  pull?: (stage: string, key: Digest) => Promise<boolean>;
}

export interface RunResult {
  summary: RunSummary;
  failures: Failure[];
}

export async function runPipeline(s: Session, o: RunOptions): Promise<RunResult> {
  const t0 = Date.now();
  const emit = (e: PipeEvent) => o.reporter.onEvent(e);
  const summary: RunSummary = { ran: [], restored: [], upToDate: [], failed: [], notRun: [], durationMs: 0 };
  const failures: Failure[] = [];
  const finish = (): RunResult => {
    summary.durationMs = Date.now() - t0;
    emit({ type: 'run-finished', time: Date.now(), summary, failures });
    return { summary, failures };
  };

  let release: (() => Promise<void>) | undefined;
  let tookOver = false;
  if (!o.dryRun) {
    const lock = await acquireRepoLock(s.pipeDir, {
      wait: o.wait,
      onWait: (pid) => emit({ type: 'warning', time: Date.now(), message: `waiting for another pipe run (pid ${pid}) in this repo to finish` }),
    });
    if (!lock.ok) {
      failures.push(lock.error);
      return finish();
    }
    release = () => lock.value.release();
    tookOver = lock.value.tookOver;
  }
  try {
    const plan = await planStages(s, o.names, { forced: o.forced });
    emit({ type: 'run-planned', time: Date.now(), stages: plan.planned, jobs: o.jobs, gpus: o.gpus, dryRun: o.dryRun });
    if (o.dryRun) {
      failures.push(...plan.failures);
      return finish();
    }
    const ws = new RunWorkspace(s.pipeDir, `${Date.now()}-${process.pid}`);
    await ws.clearStale();
    // Temp files of a killed run inside the cache: harmless but wasted space,
    // looked for when this run will write to the cache (see temp-sweep.ts).
    if (plan.planned.some((p) => p.action !== 'up-to-date') || plan.failures.length) await sweepCacheTemps(s.pipeDir, s.store, tookOver);
    const entries = new Map<string, LockEntry>();
    const changed = new Set<string>();
    const selected = new Set(o.names);
    try {
      await schedule({
        stages: o.names.map((name) => {
          const st = s.graph.stages.get(name)!;
          const deps = (s.graph.upstream.get(name) ?? []).filter((u) => selected.has(u));
          // A cluster job takes none of this machine's CPUs or GPUs: one slot each, so --jobs is how many run at once.
          if (whereRuns(st, s.graph.pipeline, o.executor) !== 'local') return { name, cpu: 1, gpu: 0, deps };
          // Per-item stages spread their items over every slot they get.
          const cpu = st.map ? Math.max(st.resources.cpu, o.jobs) : st.resources.cpu;
          return { name, cpu, gpu: st.resources.gpu, deps };
        }),
        jobs: o.jobs,
        gpus: o.gpus,
        keepGoing: o.keepGoing,
        signal: o.signal,
        onNotRun: (name, because) => {
          summary.notRun.push(name);
          emit({ type: 'stage-not-run', time: Date.now(), stage: name, because });
        },
        run: async (name, grant) => {
          const stage = s.graph.stages.get(name)!;
          const upstreamChanged = (s.graph.upstream.get(name) ?? []).filter((u) => changed.has(u));
          const t = Date.now();
          const assess = () => assessStage(s, stage, { force: o.forced.has(name), upstreamChanged, planning: false });
          let a = await assess();
          if (a.ok && a.value.action === 'run' && !o.forced.has(name) && (await o.pull?.(name, a.value.key))) a = await assess();
          const outcome = a.ok ? await executeStage(s, a.value, grant, { signal: o.signal, emit, keepGoing: o.keepGoing, ws, hasGpus: o.gpus.length > 0, ...(o.executor ? { executor: o.executor } : {}) }) : a;
          // Unless it was found up to date (nothing written), this stage's outputs may have been rewritten.
          if (!(outcome.ok && outcome.value.how === 'up-to-date')) for (const t of trackedOuts(stage)) s.hashes.invalidate(t.path);
          // What was just committed is known: downstream stages take these hashes instead of walking the outputs again.
          if (outcome.ok) for (const [p, h] of Object.entries(outcome.value.outs ?? {})) s.hashes.set(p, h);
          if (!outcome.ok) {
            summary.failed.push(name);
            failures.push(outcome.error);
            emit({ type: 'stage-failed', time: Date.now(), stage: name, failure: outcome.error, durationMs: Date.now() - t });
            return false;
          }
          entries.set(name, outcome.value.entry);
          if (outcome.value.how !== 'up-to-date') changed.add(name);
          (outcome.value.how === 'ran' ? summary.ran : outcome.value.how === 'restored' ? summary.restored : summary.upToDate).push(name);
          return true;
        },
      });
    } finally {
      await commitLock(s, entries);
      const unsaved = await saveHashCaches(s);
      if (unsaved) emit({ type: 'warning', time: Date.now(), message: `${unsaved.message}${unsaved.hint ? ` (${unsaved.hint})` : ''}` });
      await ws.dispose();
    }
  } finally {
    await release?.();
  }
  return finish();
}

/** Writes the lock with the new entries; entries of stages no longer in pipeline.yaml are dropped. */
async function commitLock(s: Session, entries: Map<string, LockEntry>): Promise<void> {
  const stages: LockFile['stages'] = {};
  for (const [name, e] of Object.entries(s.lock.stages)) if (s.graph.stages.has(name)) stages[name] = e;
  for (const [name, e] of entries) stages[name] = e;
  const next: LockFile = { version: 1, stages };
  if (serializeLock(next) === serializeLock(s.lock)) return;
  await writeLock(s.lockFile, next);
  s.lock = next;
}
