/**
 * The one interface behind which a stage runs. The runner decides *what*
 * runs (a stage that is stale, the items that are not cached) and commits
 * what comes back; an executor only decides *where and how*: a shell, a
 * child process, this process, a pool of worker threads, a Slurm job. A new
 * place to run stages is one new file implementing `Executor` (and, for
 * per-item stages, `ItemExecutor`), listed in `executors.ts`.
 */
import type { Progress } from '../events.ts';
import type { Failure } from '../failure.ts';
import type { ItemResult, Stage } from '../stage-api.ts';
import type { Result } from '../util/result.ts';
import type { Resources } from '../model.ts';
import type { StageInit } from './stage-init.ts';

/** Slots the scheduler granted a stage on this machine. */
export interface Grant {
  gpus: string[];
  cpu: number;
}

/** Where a stage's output goes while it runs (the runner turns it into events). */
export interface LogSink {
  line(stream: 'stdout' | 'stderr' | 'info', line: string): void;
  progress(p: Progress): void;
}

/** What runs: a shell command, or a built-in whole stage's entry. */
export type StageWork =
  | { kind: 'cmd'; cmd: string }
  | {
      kind: 'stage';
      /** Absolute path of the stage module; what a separate process imports. */
      modulePath: string;
      init: StageInit;
      /** The module already loaded by the registry, for executors running in this process. */
      loaded?: Stage;
    };

export interface StageJob {
  stage: string;
  /** The stage key: the same key is the same work (a job may be found again after a restart). */
  key: string;
  work: StageWork;
  /** Variables added to the runner's environment. */
  env: Record<string, string>;
  cwd: string;
  grant: Grant;
  /** What the stage asks for (a cluster executor turns it into job options; local ones use `grant`). */
  resources: Resources;
  /** A folder private to this stage key for the executor's own files (job scripts, logs); on the shared filesystem. */
  jobDir: string;
  log: LogSink;
  signal: AbortSignal;
}

export interface Executor {
  /** Shown in the UI as where the stage runs. */
  readonly name: string;
  /**
   * Its jobs may outlive the runner (a cluster job): the runner then keeps a
   * built-in stage's temp outputs in the stage key's job folder instead of
   * this run's temp folder, so a later run can still commit them.
   */
  readonly detached?: boolean;
  /**
   * Whether a job an earlier runner started for this stage key still runs or
   * finished uncommitted: `run` will then wait for it or take its result, and
   * the runner must leave the stage's outputs alone (a command writes them in place).
   */
  resumable?(jobDir: string): Promise<boolean>;
  run(job: StageJob): Promise<Result<void, Failure>>;
}

/** One item of a per-item stage that is not cached. */
export interface ItemTask {
  rel: string;
  /** Absolute path of the input file. */
  input: string;
  /** The item's cache key. */
  key: string;
  /** Empty folder for the item's outputs. */
  outDir: string;
  /** For `cmd:` map stages: the command with {in}/{out}/... filled in. */
  cmd?: string;
}

/**
 * How an item came back: its outputs in `outDir` for the runner to hash and
 * store ('output'), or already stored as its item record in the cache by the
 * executor's job ('recorded'; the runner places it like a cached item).
 */
export type ItemDone = { kind: 'output'; result: ItemResult } | { kind: 'recorded' };

export interface ItemsSpec {
  stage: string;
  key: string;
  /** A built-in per-item stage's module, or a `cmd:` map stage (each ItemTask carries its command). */
  work: { kind: 'cmd' } | { kind: 'stage'; modulePath: string; params: unknown };
  root: string;
  cwd: string;
  env: Record<string, string>;
  grant: Grant;
  /** What the stage asks for (a cluster executor turns it into job options; local ones use `grant`). */
  resources: Resources;
  /** Where item records go (executors whose jobs record items themselves). */
  cacheDir: string;
  jobDir: string;
  log(rel: string, stream: 'stdout' | 'stderr' | 'info', line: string): void;
}

export interface ItemRun {
  /**
   * Runs the items; `onItem` is called once per finished item (awaited before
   * the next result is handed over). Stops starting items once `signal` aborts.
   */
  run(items: ItemTask[], signal: AbortSignal, onItem: (it: ItemTask, r: Result<ItemDone, Failure>) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export interface ItemExecutor {
  readonly name: string;
  /**
   * Its jobs may outlive the runner: item folders then go in the stage key's
   * job folder (named by item key) rather than this run's temp folder, which
   * the next run clears while those jobs may still write.
   */
  readonly detached?: boolean;
  /** Prepares (and may warm up) the executor for a stage's items; called before the cached items are placed. */
  open(spec: ItemsSpec): ItemRun;
}

/** Environment for a stage process: which GPUs it may see, and who it is. */
export function stageEnv(stageName: string, grant: Grant, hasGpus: boolean, extra: Record<string, string>, params: Record<string, unknown> = {}): Record<string, string> {
  // PIPE_PARAMS: the stage's resolved params as JSON, so a cmd: stage's script gets them (README "Params of cmd: stages").
  const env: Record<string, string> = { PIPE_PARAMS: JSON.stringify(params), ...extra, PIPE_STAGE: stageName, PIPE_THREADS: String(grant.cpu) };
  // An empty CUDA_VISIBLE_DEVICES hides every GPU: a GPU stage running on the
  // CPU fallback must not grab a device another stage was given.
  if (grant.gpus.length || hasGpus) env.CUDA_VISIBLE_DEVICES = grant.gpus.join(',');
  return env;
}

export function stringEnv(e: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(e)) if (v !== undefined) out[k] = v;
  return out;
}
