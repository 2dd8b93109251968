/** `pipe metrics [--json]`: the tables stages declare, then every other metrics file. */
import type { CliIO } from '../io.ts';
import { EXIT, writeAligned } from '../io.ts';
import { collectMetrics, type MetricsRow } from '../../metrics/collect.ts';
import { formatTable } from '../../report/format-table.ts';
import { cellText, collectTables, type TableData } from '../../metrics/tables.ts';
import { sessionOrReport } from '../session.ts';

/** A declared table as text, under its title; the best cells are starred. */
export function declaredTableText(t: TableData): string {
  const table = formatTable(
    [...t.rowKeys, ...t.columns.map((c) => c.label)],
    t.rows.map((r) => [
      ...t.rowKeys.map((k) => r.keys[k] ?? '-'),
      ...t.columns.map((c) => `${cellText(r.cells[c.label], c.column)}${r.best.has(c.label) ? ' *' : c.column.best ? '  ' : ''}`),
    ]),
    { align: [...t.rowKeys.map(() => 'left' as const), ...t.columns.map(() => 'right' as const)] },
  );
  return `${t.title}\n${table}`;
}

function cell(v: number | string | boolean | undefined): string {
  if (v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  return String(v);
}

/** Wide table when the columns fit a terminal, else one line per (stage, metric). */
export function metricsTable(rows: MetricsRow[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.values)))];
  if (keys.length <= 6) {
    return formatTable(
      ['stage', ...keys],
      rows.map((r) => [r.stage, ...keys.map((k) => cell(r.values[k]))]),
      { align: ['left', ...keys.map(() => 'right' as const)] },
    );
  }
  return formatTable(
    ['stage', 'metric', 'value'],
    rows.flatMap((r) => Object.entries(r.values).map(([k, v]) => [r.stage, k, cell(v)])),
    { align: ['left', 'left', 'right'] },
  );
}

export async function metricsCommand(io: CliIO, f: { file?: string; json: boolean }): Promise<number> {
  const s = await sessionOrReport(io, f.file);
  if (!s) return EXIT.usage;
  const rows = await collectMetrics(s.graph, s.root);
  // The declared tables first (e.g. the study's train set, preprocessing, test set, mIoU, IoU per class).
  const tables = f.json ? [] : (await collectTables(s.graph, s.root)).filter((t) => t.rows.length);
  if (f.json) io.stdout.write(JSON.stringify(rows) + '\n');
  else if (rows.length === 0 && tables.length === 0) io.stdout.write('no metrics yet: run `pipe run` first\n');
  else {
    const shown = new Set(tables.flatMap((t) => t.rows.map((r) => `${r.stage}\0${r.file}`)));
    await writeAligned(io, rows, () => {
      const rest = rows.filter((r) => !shown.has(`${r.stage}\0${r.file}`));
      return [...tables.map(declaredTableText), ...(rest.length ? [metricsTable(rest)] : [])].join('\n\n');
    });
  }
  for (const r of rows) if (r.error) io.stderr.write(`warning: ${r.error}\n`);
  return EXIT.ok;
}
