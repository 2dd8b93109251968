/**
 * What the Ink UI shows, folded from engine events. Pure data and a reducer,
 * no React: the view is a function of this state and the clock, which keeps
 * the rendering testable and the event handling in one place.
 */
import type { Failure } from '../../failure.ts';
import type { PipeEvent, Progress, Reason, RunSummary } from '../../events.ts';
import { unreachable } from '../../util/result.ts';
import type { StepTiming } from '../format-progress.ts';
import { formatReason } from '../format-status.ts';
import { formatTransfer } from '../format-transfer.ts';

export type RowState = 'waiting' | 'running' | 'done' | 'restored' | 'up-to-date' | 'failed' | 'not-run';

export interface StageRow {
  name: string;
  state: RowState;
  reasons: Reason[];
  gpu?: string;
  /** Set when the stage starts; ETA falls back to `expectedMs` until steps arrive. */
  timing?: StepTiming;
  progress?: Progress;
  items?: { total: number; cached: number; toProcess: number };
  /** Newest last; only the last LOG_LINES are kept. */
  logs: string[];
  durationMs?: number;
  because?: string;
  failure?: Failure;
  /** Last duration from the lock, shown for waiting stages. */
  lastDurationMs?: number;
}

/** Lines that never change once printed: they go to Ink's <Static>. */
export type StaticItem =
  | { kind: 'plan'; key: string; stages: number; toRun: number; toRestore: number; upToDate: number; jobs: number; gpus: string[]; dryRun: boolean; would: string[] }
  | { kind: 'stage'; key: string; row: StageRow }
  | { kind: 'warning'; key: string; message: string; stage?: string }
  | { kind: 'transfer'; key: string; line: string }
  | { kind: 'failure'; key: string; failure: Failure }
  | { kind: 'summary'; key: string; summary: RunSummary; failed: boolean };

export interface ViewModel {
  /** Stages in plan order (then first-seen order for stages the plan did not list). */
  rows: Map<string, StageRow>;
  /** Append-only, as <Static> requires. */
  staticItems: StaticItem[];
  finished: boolean;
  /** The push or pull under way, as its latest progress line. */
  transfer?: string;
}

export const LOG_LINES = 3;

export function emptyModel(): ViewModel {
  return { rows: new Map(), staticItems: [], finished: false };
}

function row(m: ViewModel, name: string): StageRow {
  let r = m.rows.get(name);
  if (!r) {
    r = { name, state: 'waiting', reasons: [], logs: [] };
    m.rows.set(name, r);
  }
  return r;
}

/** Moves a finished row to <Static>; a snapshot, so later events cannot change printed lines. */
function settle(m: ViewModel, r: StageRow, state: RowState): void {
  r.state = state;
  m.staticItems.push({ kind: 'stage', key: `stage:${r.name}:${m.staticItems.length}`, row: { ...r, logs: [...r.logs] } });
}

/** Applies one event to the model in place. */
export function applyEvent(m: ViewModel, e: PipeEvent): void {
  switch (e.type) {
    case 'run-planned': {
      const count = (a: string): number => e.stages.filter((s) => s.action === a).length;
      m.staticItems.push({
        kind: 'plan',
        key: `plan:${m.staticItems.length}`,
        stages: e.stages.length,
        toRun: count('run'),
        toRestore: count('restore'),
        upToDate: count('up-to-date'),
        jobs: e.jobs,
        gpus: e.gpus,
        dryRun: e.dryRun,
        // A dry run ends right after the plan: list what a real run would do and why.
        would: e.dryRun
          ? e.stages
              .filter((s) => s.action !== 'up-to-date')
              .map((s) => `${s.action === 'run' ? 'run' : 'restore'} ${s.stage}` + (s.reasons.length ? `  (${s.reasons.map(formatReason).join('; ')})` : ''))
          : [],
      });
      for (const s of e.stages) {
        const r = row(m, s.stage);
        r.reasons = s.reasons;
        if (s.lastDurationMs !== undefined) r.lastDurationMs = s.lastDurationMs;
      }
      return;
    }
    case 'stage-started': {
      const r = row(m, e.stage);
      r.state = 'running';
      r.reasons = e.reasons;
      if (e.gpu !== undefined) r.gpu = e.gpu;
      const expectedMs = e.expectedMs ?? r.lastDurationMs;
      r.timing = { startedAt: e.time, ...(expectedMs !== undefined ? { expectedMs } : {}) };
      return;
    }
    case 'stage-progress': {
      const r = row(m, e.stage);
      // Keep earlier values when a report carries only some (a stage may send lr once per epoch).
      const values = { ...r.progress?.values, ...e.progress.values };
      r.progress = { ...r.progress, ...e.progress, ...(Object.keys(values).length ? { values } : {}) };
      const t = (r.timing ??= { startedAt: e.time });
      if (e.progress.step !== undefined) {
        if (t.firstStep === undefined || e.progress.step < (t.step ?? 0)) {
          // First step report, or the counter restarted (a new phase): rate starts over.
          t.firstStep = e.progress.step;
          t.firstStepAt = e.time;
        }
        t.step = e.progress.step;
        t.lastStepAt = e.time;
      }
      if (e.progress.total !== undefined) t.total = e.progress.total;
      return;
    }
    case 'stage-log': {
      const r = row(m, e.stage);
      r.logs.push(e.line);
      if (r.logs.length > LOG_LINES) r.logs.splice(0, r.logs.length - LOG_LINES);
      return;
    }
    case 'stage-items':
      row(m, e.stage).items = { total: e.total, cached: e.cached, toProcess: e.toProcess };
      return;
    case 'stage-up-to-date':
      settle(m, row(m, e.stage), 'up-to-date');
      return;
    case 'stage-restored': {
      const r = row(m, e.stage);
      r.durationMs = e.durationMs;
      settle(m, r, 'restored');
      return;
    }
    case 'stage-finished': {
      const r = row(m, e.stage);
      r.durationMs = e.durationMs;
      settle(m, r, 'done');
      return;
    }
    case 'stage-failed': {
      const r = row(m, e.stage);
      r.durationMs = e.durationMs;
      r.failure = e.failure;
      settle(m, r, 'failed');
      return;
    }
    case 'stage-not-run': {
      const r = row(m, e.stage);
      r.because = e.because;
      settle(m, r, 'not-run');
      return;
    }
    case 'warning':
      m.staticItems.push({
        kind: 'warning',
        key: `warning:${m.staticItems.length}`,
        message: e.message,
        ...(e.stage !== undefined ? { stage: e.stage } : {}),
      });
      return;
    case 'transfer-started':
      m.staticItems.push({ kind: 'transfer', key: `transfer:${m.staticItems.length}`, line: formatTransfer(e) });
      if (e.objects) m.transfer = formatTransfer({ ...e, type: 'transfer-progress', objects: 0, bytes: 0, totalObjects: e.objects, totalBytes: e.bytes, bytesPerSecond: 0 });
      return;
    case 'transfer-progress':
      m.transfer = formatTransfer(e);
      return;
    case 'transfer-finished':
      delete m.transfer;
      m.staticItems.push({ kind: 'transfer', key: `transfer:${m.staticItems.length}`, line: formatTransfer(e) });
      return;
    case 'run-finished': {
      const shown = [...m.rows.values()].map((r) => r.failure).filter((f): f is Failure => f !== undefined);
      for (const f of e.failures) {
        if (shown.some((s) => s === f || (s.kind === f.kind && s.message === f.message && s.stage === f.stage))) continue;
        m.staticItems.push({ kind: 'failure', key: `failure:${m.staticItems.length}`, failure: f });
      }
      m.staticItems.push({
        kind: 'summary',
        key: `summary:${m.staticItems.length}`,
        summary: e.summary,
        failed: e.summary.failed.length > 0 || e.failures.length > 0,
      });
      m.finished = true;
      return;
    }
    default:
      unreachable(e, 'event');
  }
}

/** Whether an event changes which rows exist or where they are (rendered at once, not coalesced). */
export function isStructural(e: PipeEvent): boolean {
  return e.type !== 'stage-progress' && e.type !== 'stage-log' && e.type !== 'stage-items' && e.type !== 'transfer-progress';
}
