/**
 * The interface every built-in stage under `stages/` implements. A stage reads
 * its inputs, writes its outputs where `ctx.path()` says (a temp folder the
 * engine moves into place on success), and reports progress. It never touches
 * the cache, the lock or the final output paths: the engine owns those.
 */
import type { ZodType } from 'zod';
import type { Progress } from './events.ts';

// The one door: everything a stage may use from the engine is exported here,
// and test/layering checks that no file under stages/ imports another src/ path.
// Failures as values (throw FailureError inside a stage; the engine reports it).
export { failure, FailureError, type Failure, type FailureKind } from './failure.ts';
export { ok, err, unreachable, type Result } from './util/result.ts';
// Publishing files atomically (temp sibling, then rename).
export { writeFileAtomic } from './cache/atomic.ts';
// Modules started by path (workers, child entries): entryModule('stages/x/worker')
// is also what makes the build bundle them as entry points (scripts/build.mjs).
export { entryModule } from './exec/node-entry.ts';
// A worker-thread pool that runs TypeScript workers from the sources and the bundle alike.
export { runPool, type PoolOptions } from './exec/worker-pool.ts';
// One worker thread of ours (TypeScript or bundled), for a stage that keeps its own protocol with it.
export { startWorker } from './exec/worker-boot.ts';
export type { Progress } from './events.ts';
// What a stage shows in `pipe report` and `pipe metrics`.
export type { ReportView, TableView, TableColumn, CurveView, ImagesView, DatasetView } from './report-views.ts';
import type { ReportView } from './report-views.ts';

/** Paths a stage reads and writes, derived from its params (all repo-relative). */
export interface StageIO {
  deps: string[];
  outs: string[];
  metrics: string[];
  /** For per-item stages: the folder whose files are the items, and where their outputs go. */
  map?: { in: string; out: string; glob?: string };
}

export interface StageContext<P> {
  /** Instance name, e.g. `train@dark`. */
  stage: string;
  params: P;
  /** Absolute repo root. */
  root: string;
  /**
   * Absolute path for a repo-relative path. Paths at or below a declared out
   * (or metric) resolve into the stage's temp output folder; others into the repo.
   */
  path(rel: string): string;
  /** Private folder that survives failed runs of the same stage key (checkpoints, resumable state). */
  workDir: string;
  progress(p: Progress): void;
  log(line: string): void;
  /** Aborted on Ctrl-C or when the runner gives up; long loops should check it. */
  signal: AbortSignal;
  /** GPU ids this stage was given (also in CUDA_VISIBLE_DEVICES); empty on CPU. */
  gpus: string[];
  /** CPU slots the scheduler granted; a stage may use this many threads. */
  threads: number;
}

export interface ItemContext<P> {
  stage: string;
  params: P;
  root: string;
  /** Absolute path of this item's input file. */
  input: string;
  /** Input path relative to `map.in`, POSIX separators (e.g. `sub/x.jpg`). */
  rel: string;
  /**
   * Empty folder for this item's outputs. Its layout mirrors the final output
   * folder (`map.out`): write `<stem>.png` here and it appears as `map.out/<stem>.png`.
   */
  outDir: string;
  /** Absolute path of another repo-relative input (never an output). */
  path(rel: string): string;
  log(line: string): void;
}

/** JSON-serialisable data. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** What an item returns: a small JSON summary kept in the item cache and handed to `reduce`. */
export interface ItemResult {
  summary?: Json;
}

interface StageCommon<P> {
  name: string;
  description: string;
  /** zod schema of the params, with defaults: parsing `{}` gives the documented defaults. */
  params: ZodType<P>;
  /** Inputs and outputs implied by the params. */
  io(params: P): StageIO;
  /** CPU slots and GPUs wanted (default cpu 1, gpu 0). */
  resources?(params: P): { cpu?: number; gpu?: number };
  /**
   * What the stage adds to the report and `pipe metrics` (tables from its
   * metrics files, curves, image strips, data set views), with paths derived
   * from the params. pipeline.yaml's `report:` can change or add to these.
   */
  report?(params: P): ReportView[];
}

export interface WholeStage<P = any> extends StageCommon<P> {
  kind: 'whole';
  /** Run in a child process even without a GPU (heavy memory, native libraries). */
  isolate?: boolean;
  run(ctx: StageContext<P>): Promise<void>;
}

export interface PerItemStage<P = any> extends StageCommon<P> {
  kind: 'per-item';
  /** Process one input file; must depend only on that file and the params. */
  processItem(ctx: ItemContext<P>): Promise<ItemResult>;
  /**
   * Runs after all items (cached or not) with their summaries, sorted by rel;
   * writes aggregate outputs such as metrics. Must be cheap: it runs every time
   * any item changed. Works from the summaries only: the items' output files are
   * not all in the temp folder it writes to (unchanged ones stay in place).
   */
  reduce?(ctx: StageContext<P>, items: { rel: string; summary: Json | undefined }[]): Promise<void>;
}

export type Stage<P = any> = WholeStage<P> | PerItemStage<P>;

/** Helper for stage modules: `export default defineStage({...})` keeps P inferred. */
export function defineStage<P>(stage: Stage<P>): Stage<P> {
  return stage;
}
