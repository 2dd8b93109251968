/** `pipe status [stage...] [--json]`: every stage as up to date / stale / never run, and why. */
import { saveHashCaches } from '../../run/session.ts';
import type { CliIO } from '../io.ts';
import { EXIT, useColor, writeAligned } from '../io.ts';
import { printFailures, printWarnings } from '../errors.ts';
import { planStages } from '../../plan/plan.ts';
import { formatStatus } from '../../report/format-status.ts';
import { sessionOrReport, stagesOrReport } from '../session.ts';

export async function statusCommand(io: CliIO, targets: string[], f: { file?: string; json: boolean }): Promise<number> {
  const s = await sessionOrReport(io, f.file);
  if (!s) return EXIT.usage;
  const names = stagesOrReport(io, s, targets);
  if (!names) return EXIT.usage;
  const plan = await planStages(s, names, { forced: new Set() });
  printWarnings(io, await saveHashCaches(s));
  if (f.json) {
    io.stdout.write(JSON.stringify({ stages: plan.planned, failures: plan.failures }) + '\n');
  } else {
    await writeAligned(io, plan.planned, () => formatStatus(plan.planned, { color: useColor(io) }));
    printFailures(io, plan.failures);
  }
  return plan.failures.length ? EXIT.failed : EXIT.ok;
}
