/**
 * The typed pipeline after parsing, validation and expansion of vars,
 * foreach and matrix: what the planner, scheduler and reporters work on.
 * All paths are repo-relative, POSIX separators, normalised, no trailing slash.
 */
import type { Span } from './failure.ts';
import type { ReportView } from './report-views.ts';

export interface OutDecl {
  path: string;
  /** false: not stored in the cache (e.g. huge scratch outputs); still tracked. */
  cache: boolean;
  span?: Span;
}

/**
 * Per-item mapping: every file below `in` matching `glob` is one item; each
 * item's outputs land below `out`. The engine caches items one by one by
 * (stage code, params, item path, item content hash).
 */
export interface MapDecl {
  in: string;
  out: string;
  /** picomatch glob relative to `in`; default all files. */
  glob: string;
  span?: Span;
}

export interface Resources {
  /** CPU slots this stage occupies in the scheduler (default 1). */
  cpu: number;
  /** GPUs it needs; > 0 makes it a GPU stage that runs in its own child process. */
  gpu: number;
  /** Memory for a cluster job, e.g. `8G` (sbatch --mem). Not part of the stage key, like every resource. */
  mem?: string;
  /** Time limit of a cluster job, e.g. `2:00:00` (sbatch --time). */
  time?: string;
  partition?: string;
  account?: string;
  /** Generic resources, e.g. `gpu:a100:1` (sbatch --gres); used instead of --gpus when set. */
  gres?: string;
  /** Extra sbatch flags, passed through as written. */
  sbatch?: string[];
  /** Items per array task when a per-item stage runs on a cluster (default 100). */
  chunk?: number;
}

/** Where stages run: this machine, or Slurm jobs. */
export type ExecutorName = 'local' | 'slurm';

export interface StageInstance {
  /** Unique instance name, e.g. `train@dark` or `evaluate@bright-dark`. */
  name: string;
  /** The entry in pipeline.yaml it was expanded from, e.g. `train`. */
  template: string;
  /** For foreach/matrix expansions, the bound values (`{item: 'dark'}` or `{set: 'dark', test: 'bright'}`). */
  bindings: Record<string, string>;
  kind: 'uses' | 'cmd';
  /** Built-in stage name (kind 'uses'). */
  uses?: string;
  /** Shell command (kind 'cmd'), vars already interpolated. */
  cmd?: string;
  deps: string[];
  outs: OutDecl[];
  /** Metrics JSON files: outputs too, but small and shown by `pipe metrics`. */
  metrics: string[];
  params: Record<string, unknown>;
  map?: MapDecl;
  resources: Resources;
  /** `executor:` of this stage in pipeline.yaml; unset: the run's choice. */
  executor?: ExecutorName;
  /** Environment variables added for cmd stages. */
  env: Record<string, string>;
  /** Working directory for cmd stages, repo-relative (default repo root). */
  wdir: string;
  /** What the stage adds to `pipe report` and `pipe metrics` (declared by the built-in and by `report:`). */
  report: ReportView[];
  /** Position of the stage's entry in pipeline.yaml, for errors. */
  span?: Span;
  /** Positions of individual fields (`deps.0`, `params.lr`, `outs.1`), for errors. */
  spans: Record<string, Span>;
}

export interface Pipeline {
  /** Absolute path of the repo root (the folder holding pipeline.yaml). */
  root: string;
  /** Absolute path of pipeline.yaml. */
  file: string;
  vars: Record<string, unknown>;
  /** Top-level `executor:` (default for stages without their own; `pipe run --executor` overrides it). */
  executor?: ExecutorName;
  /** Stage instances in file order (expansions in order of their lists). */
  stages: StageInstance[];
}
