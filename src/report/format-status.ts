/**
 * Why a stage is stale, in words, and the `pipe status` table built from the
 * planner's PlannedStage list.
 */
import type { PlannedStage, Reason } from '../events.ts';
import { unreachable } from '../util/result.ts';
import { palette } from './color.ts';
import { formatTable } from './format-table.ts';

/** File names listed per category of a dep change before "…". */
const MAX_NAMES = 3;
/** Param values longer than this are cut: a changed list of 500 paths is not a status line. */
const MAX_VALUE = 60;

/** One short line saying why a stage must run, e.g. "param lr: 0.1 -> 0.01". */
export function formatReason(r: Reason): string {
  switch (r.kind) {
    case 'never-run':
      return 'never run';
    case 'forced':
      return 'forced (--force)';
    case 'code-changed':
      // The planner says `stage 'train'`, a list of script files, or "stage definition (...)".
      return r.what.startsWith('stage definition') ? `${r.what} changed` : `code of ${r.what} changed`;
    case 'command-changed':
      return `command changed: ${clip(r.old)} -> ${clip(r.new)}`;
    case 'param-changed':
      return `param ${r.key}: ${showValue(r.old)} -> ${showValue(r.new)}`;
    case 'dep-changed': {
      const parts = [
        counted(r.modified, 'modified'),
        counted(r.added, 'added'),
        counted(r.removed, 'removed'),
      ].filter((p) => p !== '');
      return `dep ${r.path} changed${parts.length ? ': ' + parts.join(', ') : ''}`;
    }
    case 'dep-added':
      return `dep ${r.path} added`;
    case 'dep-removed':
      return `dep ${r.path} removed`;
    case 'out-missing':
      return `out ${r.path} missing`;
    case 'out-modified':
      return `out ${r.path} modified since the last run`;
    case 'upstream-changed':
      return `upstream ${r.stage} changed`;
    default:
      return unreachable(r, 'reason');
  }
}

function counted(files: string[], what: string): string {
  if (files.length === 0) return '';
  const names = files.slice(0, MAX_NAMES).join(', ') + (files.length > MAX_NAMES ? ', …' : '');
  return `${files.length} ${what} (${names})`;
}

function showValue(v: unknown): string {
  if (v === undefined) return '(unset)';
  const s = typeof v === 'string' && /^[\w.\-/]+$/.test(v) ? v : JSON.stringify(v);
  return clip(s);
}

function clip(s: string): string {
  const flat = s.replace(/\s*\n\s*/g, ' ');
  return flat.length > MAX_VALUE ? flat.slice(0, MAX_VALUE - 1) + '…' : flat;
}

type StatusState = 'up to date' | 'stale' | 'never run' | 'restorable from cache';

/** The state word `pipe status` shows for a planned stage. */
export function statusState(p: PlannedStage): StatusState {
  switch (p.action) {
    case 'up-to-date':
      return 'up to date';
    case 'restore':
      return 'restorable from cache';
    case 'run':
      return p.reasons.some((r) => r.kind === 'never-run') ? 'never run' : 'stale';
    default:
      return unreachable(p.action, 'stage action');
  }
}

/**
 * The `pipe status` table: one row per stage (name, state, last duration) and
 * its reasons, one per line, indented under it; then a count line.
 */
export function formatStatus(planned: PlannedStage[], o: { color: boolean }): string {
  const c = palette(o.color);
  const paint = (s: StatusState): string => {
    switch (s) {
      case 'up to date':
        return c.green(s);
      case 'restorable from cache':
        return c.cyan(s);
      case 'stale':
        return c.yellow(s);
      case 'never run':
        return c.yellow(s);
      default:
        return unreachable(s, 'status state');
    }
  };
  if (planned.length === 0) return 'no stages';
  const table = formatTable(
    ['stage', 'state'],
    planned.map((p) => [p.stage, paint(statusState(p))]),
  ).split('\n');
  const out: string[] = [c.bold(table[0] ?? '')];
  planned.forEach((p, i) => {
    out.push(table[i + 1] ?? '');
    // Up-to-date stages have no reasons worth showing; stale ones list every one.
    if (p.action !== 'up-to-date') for (const r of p.reasons) out.push(`    ${c.dim('-')} ${formatReason(r)}`);
  });
  const counts = new Map<StatusState, number>();
  for (const p of planned) counts.set(statusState(p), (counts.get(statusState(p)) ?? 0) + 1);
  const order: StatusState[] = ['up to date', 'stale', 'never run', 'restorable from cache'];
  out.push('');
  out.push(
    `${planned.length} stage${planned.length === 1 ? '' : 's'}: ` +
      order.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`).join(', '),
  );
  return out.join('\n');
}
