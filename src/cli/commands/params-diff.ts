/** `pipe params diff [REV] [--json]`: params in pipeline.yaml against those recorded in pipeline.lock at REV (default HEAD). */
import type { CliIO } from '../io.ts';
import { EXIT, writeAligned } from '../io.ts';
import { diffLockParams, formatDelta, formatValue, type ValueDiff } from '../../metrics/diff.ts';
import { formatTable } from '../../report/format-table.ts';
import { lockAtRevisionOrReport } from '../session.ts';

/** The diff as an aligned table: one line per changed param. */
export function paramsDiffTable(rev: string, diffs: ValueDiff[]): string {
  return formatTable(
    ['stage', 'param', rev, 'workspace', 'change'],
    diffs.map((d) => [d.stage, d.key, formatValue(d.old), formatValue(d.new), formatDelta(d.delta)]),
    { align: ['left', 'left', 'right', 'right', 'right'] },
  );
}

export async function paramsDiffCommand(io: CliIO, args: string[], f: { file?: string; json: boolean }): Promise<number> {
  const at = await lockAtRevisionOrReport(io, 'params diff', args, f.file);
  if (!at) return EXIT.usage;
  const { s, rev } = at;
  const diffs = diffLockParams(at.lock, s.graph);
  if (f.json) io.stdout.write(JSON.stringify({ rev, diffs }) + '\n');
  else if (diffs.length === 0) io.stdout.write(`no params changed since ${rev}\n`);
  else await writeAligned(io, diffs, () => paramsDiffTable(rev, diffs));
  return EXIT.ok;
}
