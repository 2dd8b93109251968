/** `pipe metrics diff [REV] [--json]`: metrics of the working tree against those recorded at REV (default HEAD). */
import type { CliIO } from '../io.ts';
import { EXIT, writeAligned } from '../io.ts';
import { collectMetrics } from '../../metrics/collect.ts';
import { diffMetrics, formatDelta, formatValue, metricsFromLock, type ValueDiff } from '../../metrics/diff.ts';
import { formatTable } from '../../report/format-table.ts';
import { lockAtRevisionOrReport } from '../session.ts';

/** The diff as an aligned table: one line per changed metric, notes for unreadable files. */
export function metricsDiffTable(rev: string, diffs: ValueDiff[]): string {
  return formatTable(
    ['stage', 'file', 'metric', rev, 'workspace', 'change'],
    diffs.map((d) => [d.stage, d.file, d.key, d.note ? d.note : formatValue(d.old), d.note ? '' : formatValue(d.new), formatDelta(d.delta)]),
    { align: ['left', 'left', 'left', 'right', 'right', 'right'] },
  );
}

export async function metricsDiffCommand(io: CliIO, args: string[], f: { file?: string; json: boolean }): Promise<number> {
  const at = await lockAtRevisionOrReport(io, 'metrics diff', args, f.file);
  if (!at) return EXIT.usage;
  const { s, rev } = at;
  const before = await metricsFromLock(s.graph, at.lock, s.store);
  const after = await collectMetrics(s.graph, s.root);
  const diffs = diffMetrics(before, after);
  if (f.json) io.stdout.write(JSON.stringify({ rev, diffs }) + '\n');
  else if (diffs.length === 0) io.stdout.write(`no metrics changed since ${rev}\n`);
  else await writeAligned(io, diffs, () => metricsDiffTable(rev, diffs));
  return EXIT.ok;
}
