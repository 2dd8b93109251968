/**
 * The text of every line the Ink UI shows, as (possibly coloured) strings.
 * Kept apart from the React components so the layout rules — bar width,
 * ETA, how many waiting rows fit — are plain functions.
 */
import type { ChalkInstance } from 'chalk';
import { unreachable } from '../../util/result.ts';
import { palette } from '../color.ts';
import { formatFailure } from '../format-failure.ts';
import { estimate, formatRate, formatSummary, formatValues } from '../format-progress.ts';
import { formatReason } from '../format-status.ts';
import { formatDuration, pad, textWidth } from '../format-table.ts';
import type { RowState, StageRow, StaticItem, ViewModel } from './model.ts';

export interface ViewOptions {
  color: boolean;
  now: number;
  /** Spinner frame counter, advanced by the reporter's ticker. */
  frame: number;
  columns: number;
  /** Terminal height: the live area is kept below it, or the terminal scrolls and every redraw smears. */
  rows: number;
  readSource?(file: string): string | undefined;
  cwd?: string;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Waiting stages listed before "… and N more waiting". */
const MAX_WAITING = 5;

export function glyph(state: RowState, c: ChalkInstance, frame = 0): string {
  switch (state) {
    case 'waiting':
      return c.dim('○');
    case 'running':
      return c.cyan(SPINNER[frame % SPINNER.length] ?? '⠋');
    case 'done':
      return c.green('✔');
    case 'restored':
      return c.cyan('↓');
    case 'up-to-date':
      return c.dim('✓');
    case 'failed':
      return c.red('✖');
    case 'not-run':
      return c.yellow('–');
    default:
      return unreachable(state, 'row state');
  }
}

/** Column width for stage names: the longest, within reason. */
export function nameWidth(m: ViewModel): number {
  return Math.min(32, Math.max(8, ...[...m.rows.keys()].map(textWidth)));
}

export function bar(step: number, total: number, width: number, c: ChalkInstance): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, step / total)) : 0;
  const full = Math.round(frac * width);
  return c.cyan('█'.repeat(full)) + c.dim('░'.repeat(width - full));
}

/** Seconds without decimals while running: a tenth-of-a-second counter only flickers. */
function elapsed(ms: number): string {
  return ms < 60_000 ? `${Math.floor(ms / 1000)}s` : formatDuration(ms);
}

/** The live line of a running stage: spinner, name, bar, count, elapsed, rate, ETA, values. */
export function runningLine(r: StageRow, w: number, o: ViewOptions): string {
  const c = palette(o.color);
  const parts: string[] = [`${glyph('running', c, o.frame)} ${c.bold(pad(r.name, w))}`];
  const t = r.timing;
  const p = r.progress;
  if (t?.total !== undefined && t.step !== undefined) {
    const bw = o.columns >= 120 ? 30 : o.columns >= 90 ? 20 : 12;
    parts.push(`${bar(t.step, t.total, bw, c)} ${t.step}/${t.total}`);
  } else if (p?.step !== undefined) {
    parts.push(`step ${p.step}`);
  }
  if (t) parts.push(c.dim(elapsed(o.now - t.startedAt)));
  if (t) {
    const est = estimate(t, o.now);
    if (est.rate !== undefined) parts.push(formatRate(est.rate));
    // "~" marks a guess from last run's duration rather than from measured steps.
    if (est.etaMs !== undefined) parts.push(`ETA ${est.rate === undefined ? '~' : ''}${formatDuration(est.etaMs)}`);
  }
  const tail = [p?.message, formatValues(p?.values)].filter((s) => s).join(' ');
  if (tail) parts.push(tail);
  else if (r.items) parts.push(c.dim(`${r.items.toProcess} of ${r.items.total} items to process`));
  else if (r.reasons[0]) parts.push(c.dim(formatReason(r.reasons[0])));
  // Last: the first thing to be cut on a narrow terminal, and it never changes.
  if (r.gpu !== undefined) parts.push(c.magenta(`gpu ${r.gpu}`));
  return parts.join('  ');
}

/** The live area: running stages with their last log lines, then a few waiting ones. */
export function liveLines(m: ViewModel, o: ViewOptions): string[] {
  if (m.finished) return [];
  const c = palette(o.color);
  const w = nameWidth(m);
  const all = [...m.rows.values()];
  const running = all.filter((r) => r.state === 'running');
  const waiting = all.filter((r) => r.state === 'waiting');
  const budget = Math.max(4, o.rows - 2);
  const waitingShown = Math.min(waiting.length, MAX_WAITING, Math.max(0, budget - running.length - 1));
  const waitingLines = waitingShown + (waiting.length > waitingShown ? 1 : 0);
  const runningShown = Math.min(running.length, Math.max(1, budget - waitingLines));
  // Log lines get what room is left, shared evenly between running stages.
  const logRoom = Math.max(0, budget - waitingLines - runningShown - (running.length > runningShown ? 1 : 0));
  const logsEach = runningShown ? Math.min(3, Math.floor(logRoom / runningShown)) : 0;
  const out: string[] = [];
  for (const r of running.slice(0, runningShown)) {
    out.push(runningLine(r, w, o));
    for (const l of logsEach ? r.logs.slice(-logsEach) : []) out.push(c.dim(`    ${l}`));
  }
  if (running.length > runningShown) out.push(c.dim(`  … and ${running.length - runningShown} more running`));
  for (const r of waiting.slice(0, waitingShown)) {
    const last = r.lastDurationMs !== undefined ? c.dim(`  (took ${formatDuration(r.lastDurationMs)} last time)`) : '';
    out.push(`${glyph('waiting', c)} ${c.dim(pad(r.name, w))}  ${c.dim('waiting')}${last}`);
  }
  if (waiting.length > waitingShown) out.push(c.dim(`  … and ${waiting.length - waitingShown} more waiting`));
  if (m.transfer) out.push(c.cyan(`⇅ ${m.transfer}`));
  return out;
}

/** Text of one <Static> item; may span several lines (a failure with its excerpt). */
export function staticText(item: StaticItem, w: number, o: ViewOptions): string {
  const c = palette(o.color);
  switch (item.kind) {
    case 'plan': {
      const head = item.dryRun ? 'dry run' : 'pipe run';
      const gpus = item.gpus.length ? ` · gpus ${item.gpus.join(',')}` : '';
      const line =
        c.bold(`${head}: ${item.stages} stage${item.stages === 1 ? '' : 's'}`) +
        ` — ${item.toRun} to run, ${item.toRestore} to restore, ${item.upToDate} up to date` +
        c.dim(` · jobs ${item.jobs}${gpus}`);
      return [line, ...item.would.map((l) => `  ${c.dim('would')} ${l}`)].join('\n');
    }
    case 'stage': {
      const r = item.row;
      const name = pad(r.name, w);
      const g = glyph(r.state, c);
      const took = r.durationMs !== undefined ? formatDuration(r.durationMs) : '';
      switch (r.state) {
        case 'done': {
          const values = formatValues(r.progress?.values);
          return `${g} ${c.bold(name)}  ${c.green('done')} ${took}${values ? '  ' + c.dim(values) : ''}`;
        }
        case 'restored':
          return `${g} ${name}  ${c.cyan('restored from cache')}${took ? ' ' + c.dim(took) : ''}`;
        case 'up-to-date':
          return c.dim(`${g} ${name}  up to date`);
        case 'failed':
          // The failure itself is staticBody: Ink indents it as a box, so wrapped lines stay indented.
          return `${g} ${c.bold(name)}  ${c.red('failed')}${took ? ' after ' + took : ''}`;
        case 'not-run':
          return `${g} ${name}  ${c.yellow('not run')}${r.because ? c.dim(` (${r.because})`) : ''}`;
        case 'waiting':
        case 'running':
          // Only settled rows reach <Static>; print something sane rather than crash.
          return `${g} ${name}  ${r.state}`;
        default:
          return unreachable(r.state, 'row state');
      }
    }
    case 'transfer':
      return c.cyan(`⇅ ${item.line}`);
    case 'warning':
      return c.yellow(`⚠ ${item.stage ? item.stage + ': ' : ''}${item.message}`);
    case 'failure':
      return formatFailure(item.failure, { color: o.color, readSource: o.readSource, cwd: o.cwd });
    case 'summary': {
      const s = formatSummary(item.summary);
      return '\n' + (item.failed ? c.red.bold(s) : c.green.bold(s));
    }
    default:
      return unreachable(item, 'static item');
  }
}

/** Text shown indented below a static item (a failed stage's failure), if any. */
export function staticBody(item: StaticItem, o: ViewOptions): string | undefined {
  if (item.kind !== 'stage' || !item.row.failure) return undefined;
  return formatFailure(item.row.failure, { color: o.color, readSource: o.readSource, cwd: o.cwd });
}
