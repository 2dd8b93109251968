/** `pipe metrics [--json]`: all metrics files as a table, one row per stage instance. */
import type { CliIO } from '../io.ts';
import { EXIT, writeAligned } from '../io.ts';
import { collectMetrics, type MetricsRow } from '../../metrics/collect.ts';
import { formatTable } from '../../report/format-table.ts';
import { studyTable, isBest, percent, type StudyTable } from '../../metrics/study-table.ts';
import { sessionOrReport } from '../session.ts';

/** The study's results table as text; the best value of each column is starred. */
export function studyTableText(t: StudyTable): string {
  const mark = (col: string, v: number | undefined) => `${percent(v)}${isBest(t, col, v) ? ' *' : '  '}`;
  return formatTable(
    ['train set', 'preprocessing', 'test set', 'preprocessing', 'mIoU', ...t.classes.map((c) => `IoU ${c}`)],
    t.rows.map((r) => [r.train.set, r.train.prep, r.test.set, r.test.prep, mark('mIoU', r.miou), ...t.classes.map((c) => mark(`iou.${c}`, r.iou[c]))]),
    { align: ['left', 'left', 'left', 'left', 'right', ...t.classes.map(() => 'right' as const)] },
  );
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
  if (f.json) io.stdout.write(JSON.stringify(rows) + '\n');
  else if (rows.length === 0) io.stdout.write('no metrics yet: run `pipe run` first\n');
  else {
    // The study's layout first (train set, preprocessing, test set, preprocessing, mIoU, IoU per class).
    await writeAligned(io, rows, () => {
      const study = studyTable(rows);
      const rest = metricsTable(rows.filter((r) => !study.rows.some((sr) => sr.stage === r.stage)));
      return study.rows.length ? `${studyTableText(study)}\n\n${rest}` : rest;
    });
  }
  for (const r of rows) if (r.error) io.stderr.write(`warning: ${r.error}\n`);
  return EXIT.ok;
}
