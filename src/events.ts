/**
 * Typed events from the engine to reporters (Ink, plain lines, JSON lines).
 * The engine never prints; everything a user sees comes through here.
 */
import type { Failure } from './failure.ts';

/** Why a stage must run (or why its outputs come from the cache). */
export type Reason =
  | { kind: 'never-run' }
  | { kind: 'forced' }
  | { kind: 'code-changed'; what: string }
  | { kind: 'command-changed'; old: string; new: string }
  | { kind: 'param-changed'; key: string; old: unknown; new: unknown }
  | { kind: 'dep-changed'; path: string; added: string[]; removed: string[]; modified: string[] }
  | { kind: 'dep-added'; path: string }
  | { kind: 'dep-removed'; path: string }
  | { kind: 'out-missing'; path: string }
  | { kind: 'out-modified'; path: string }
  | { kind: 'upstream-changed'; stage: string };

export type StageAction = 'up-to-date' | 'restore' | 'run';

/** Free-form progress a stage reports; known fields drive bars and ETAs. */
export interface Progress {
  step?: number;
  total?: number;
  /** Human text, e.g. 'epoch 2' or the current file. */
  message?: string;
  /** Any numeric measurements (loss, lr, images/s). */
  values?: Record<string, number>;
}

export interface PlannedStage {
  stage: string;
  action: StageAction;
  reasons: Reason[];
  /** Duration the lock recorded last time, for ETAs. */
  lastDurationMs?: number;
}

export interface RunSummary {
  ran: string[];
  restored: string[];
  upToDate: string[];
  failed: string[];
  /** Not started because something they depend on failed, or the run was interrupted. */
  notRun: string[];
  durationMs: number;
}

/** `pipe push` uploads, `pipe pull` (and `pipe run --pull`) downloads. */
export type TransferDirection = 'push' | 'pull';

export type PipeEvent =
  | { type: 'run-planned'; time: number; stages: PlannedStage[]; jobs: number; gpus: string[]; dryRun: boolean }
  | { type: 'stage-started'; time: number; stage: string; reasons: Reason[]; executor: string; gpu?: string; expectedMs?: number }
  | { type: 'stage-progress'; time: number; stage: string; progress: Progress }
  | { type: 'stage-log'; time: number; stage: string; stream: 'stdout' | 'stderr' | 'info'; line: string }
  /**
   * A per-item stage's items: `cached` need no processing; of those, `inPlace`
   * already had their outputs in the output folder and were not touched (the
   * rest were copied from the cache).
   */
  | { type: 'stage-items'; time: number; stage: string; total: number; cached: number; toProcess: number; inPlace: number }
  | { type: 'stage-up-to-date'; time: number; stage: string }
  | { type: 'stage-restored'; time: number; stage: string; durationMs: number }
  | { type: 'stage-finished'; time: number; stage: string; durationMs: number }
  | { type: 'stage-failed'; time: number; stage: string; failure: Failure; durationMs: number }
  | { type: 'stage-not-run'; time: number; stage: string; because: string }
  | { type: 'warning'; time: number; message: string; stage?: string }
  /** A push or pull starts moving `objects` files (`bytes` in all); `present` were already there. */
  | { type: 'transfer-started'; time: number; remote: string; direction: TransferDirection; objects: number; bytes: number; present: number }
  | {
      type: 'transfer-progress';
      time: number;
      remote: string;
      direction: TransferDirection;
      objects: number;
      bytes: number;
      totalObjects: number;
      totalBytes: number;
      bytesPerSecond: number;
    }
  | { type: 'transfer-finished'; time: number; remote: string; direction: TransferDirection; objects: number; bytes: number; durationMs: number }
  | { type: 'run-finished'; time: number; summary: RunSummary; failures: Failure[] };

/** A reporter consumes events; `close` lets it flush or unmount at the end. */
export interface Reporter {
  onEvent(event: PipeEvent): void;
  close?(): Promise<void> | void;
}
