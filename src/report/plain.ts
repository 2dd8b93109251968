/**
 * Plain reporter for CI logs and pipes: one timestamped line per event,
 * escape codes only when asked for. Progress is throttled so a 10,000-step
 * training run does not write 10,000 lines.
 */
import type { Failure } from '../failure.ts';
import type { PipeEvent, Progress, Reporter } from '../events.ts';
import { unreachable } from '../util/result.ts';
import { palette } from './color.ts';
import { formatFailure } from './format-failure.ts';
import { formatProgress, formatSummary } from './format-progress.ts';
import { formatReason } from './format-status.ts';
import { formatDuration } from './format-table.ts';
import { formatTransfer } from './format-transfer.ts';

export interface PlainReporterOptions {
  color: boolean;
  readSource?(file: string): string | undefined;
  /** Time source for timestamps and throttling; default each event's own `time`. */
  clock?: () => Date;
  /** Minimum time between two progress lines of one stage (default 5 s). */
  progressIntervalMs?: number;
  /** Folder failure paths are shown relative to (default process.cwd()). */
  cwd?: string;
}

/** Reasons shown on a `run` line before "+N more". */
const MAX_REASONS = 3;

export function createPlainReporter(out: NodeJS.WritableStream, o: PlainReporterOptions): Reporter {
  const c = palette(o.color);
  const interval = o.progressIntervalMs ?? 5000;
  /** Per stage: when the last progress line was printed, and a newer one held back. */
  const throttle = new Map<string, { printedAt: number; held?: { time: number; progress: Progress } }>();
  const printedFailures: Failure[] = [];

  const now = (e: PipeEvent): number => (o.clock ? o.clock().getTime() : e.time);
  const stamp = (t: number): string => {
    const d = new Date(t);
    const two = (n: number): string => String(n).padStart(2, '0');
    return c.dim(`${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`);
  };
  const paintVerb = (verb: string, paint: (s: string) => string): string =>
    paint(verb) + ' '.repeat(Math.max(0, 8 - verb.length));
  const line = (t: number, verb: string, paint: (s: string) => string, rest: string): void => {
    out.write(`${stamp(t)} ${paintVerb(verb, paint)} ${rest}\n`);
  };
  const failureBlock = (f: Failure): void => {
    printedFailures.push(f);
    const text = formatFailure(f, { color: o.color, readSource: o.readSource, cwd: o.cwd });
    out.write(text.split('\n').map((l) => '  ' + l).join('\n') + '\n');
  };
  const flushHeld = (stage: string): void => {
    const t = throttle.get(stage);
    if (t?.held) line(t.held.time, 'progress', c.blue, `${stage} ${formatProgress(t.held.progress)}`);
    throttle.delete(stage);
  };
  const reasons = (rs: PipeEvent & { type: 'stage-started' }): string => {
    if (rs.reasons.length === 0) return '';
    const shown = rs.reasons.slice(0, MAX_REASONS).map(formatReason);
    if (rs.reasons.length > MAX_REASONS) shown.push(`+${rs.reasons.length - MAX_REASONS} more`);
    return `  (${shown.join('; ')})`;
  };

  return {
    onEvent(e) {
      const t = now(e);
      switch (e.type) {
        case 'run-planned': {
          const count = (a: string): number => e.stages.filter((s) => s.action === a).length;
          const gpus = e.gpus.length ? `, gpus ${e.gpus.join(',')}` : '';
          line(
            t,
            e.dryRun ? 'dry-run' : 'plan',
            c.bold,
            `${e.stages.length} stage${e.stages.length === 1 ? '' : 's'}: ${count('run')} to run, ${count('restore')} to restore, ` +
              `${count('up-to-date')} up to date (jobs ${e.jobs}${gpus})`,
          );
          if (e.dryRun)
            for (const s of e.stages) {
              if (s.action === 'up-to-date') continue;
              const why = s.reasons.map(formatReason).join('; ');
              line(t, s.action === 'run' ? 'would run' : 'would restore', c.dim, `${s.stage}${why ? `  (${why})` : ''}`);
            }
          return;
        }
        case 'stage-started': {
          const where = e.gpu !== undefined ? ` on gpu ${e.gpu}` : '';
          line(t, 'run', c.blue.bold, `${c.bold(e.stage)}${where}${reasons(e)}`);
          return;
        }
        case 'stage-progress': {
          const th = throttle.get(e.stage);
          const last = e.progress.total !== undefined && e.progress.step === e.progress.total;
          if (!th || last || t - th.printedAt >= interval) {
            line(t, 'progress', c.blue, `${e.stage} ${formatProgress(e.progress)}`);
            throttle.set(e.stage, { printedAt: t });
          } else {
            th.held = { time: t, progress: e.progress };
          }
          return;
        }
        case 'stage-log': {
          const verb = e.stream === 'stdout' ? 'out' : e.stream === 'stderr' ? 'err' : 'info';
          line(t, verb, e.stream === 'stderr' ? c.yellow : c.dim, `${e.stage} | ${e.line}`);
          return;
        }
        case 'stage-items':
          line(
            t,
            'items',
            c.dim,
            `${e.stage} ${e.total} items: ${e.cached} cached, ${e.toProcess} to process`,
          );
          return;
        case 'stage-up-to-date':
          line(t, 'up-to-date', c.dim, e.stage);
          return;
        case 'stage-restored':
          flushHeld(e.stage);
          line(t, 'restored', c.cyan, `${e.stage} from cache`);
          return;
        case 'stage-finished':
          flushHeld(e.stage);
          line(t, 'done', c.green.bold, `${e.stage} ${formatDuration(e.durationMs)}`);
          return;
        case 'stage-failed':
          flushHeld(e.stage);
          line(t, 'failed', c.red.bold, `${e.stage} after ${formatDuration(e.durationMs)}`);
          failureBlock(e.failure);
          return;
        case 'stage-not-run':
          line(t, 'not run', c.yellow, `${e.stage} (${e.because})`);
          return;
        case 'warning':
          line(t, 'warning', c.yellow.bold, (e.stage ? `${e.stage}: ` : '') + e.message);
          return;
        case 'transfer-started':
        case 'transfer-finished':
          throttle.delete('\0transfer');
          line(t, e.direction, c.cyan, formatTransfer(e));
          return;
        case 'transfer-progress': {
          // Same throttle as stage progress; the key cannot be a stage name.
          const last = throttle.get('\0transfer');
          if (last && t - last.printedAt < interval) return;
          throttle.set('\0transfer', { printedAt: t });
          line(t, e.direction, c.blue, formatTransfer(e));
          return;
        }
        case 'run-finished': {
          for (const f of e.failures) if (!printedFailures.some((p) => sameFailure(p, f))) failureBlock(f);
          const summary = formatSummary(e.summary);
          const bad = e.summary.failed.length > 0 || e.failures.length > 0;
          out.write((bad ? c.red.bold(summary) : c.green.bold(summary)) + '\n');
          if (e.summary.failed.length > 0) out.write(`failed: ${e.summary.failed.join(', ')}\n`);
          return;
        }
        default:
          unreachable(e, 'event');
      }
    },
    close() {
      return new Promise<void>((resolve) => out.write('', () => resolve()));
    },
  };
}

/** The engine may repeat a stage's failure in run-finished; print it once. */
function sameFailure(a: Failure, b: Failure): boolean {
  return a === b || (a.kind === b.kind && a.message === b.message && a.stage === b.stage);
}
