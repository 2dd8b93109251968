/** `pipe status [stage...] [--json]`: every stage as up to date / stale / never run, and why. */
import type { CliIO } from '../io.ts';
import { EXIT, useColor } from '../io.ts';
import { printFailures } from '../errors.ts';
import { openSession } from '../../run/session.ts';
import { selectStages } from '../../graph.ts';
import { planStages } from '../../plan/plan.ts';
import { formatStatus } from '../../report/format-status.ts';

export async function statusCommand(io: CliIO, targets: string[], f: { file?: string; json: boolean }): Promise<number> {
  const session = await openSession({ cwd: io.cwd, ...(f.file ? { file: f.file } : {}) });
  if (!session.ok) {
    printFailures(io, session.error);
    return EXIT.usage;
  }
  const s = session.value;
  const selected = targets.length ? selectStages(s.graph, targets) : { ok: true as const, value: s.graph.order };
  if (!selected.ok) {
    printFailures(io, [selected.error]);
    return EXIT.usage;
  }
  const plan = await planStages(s, selected.value, { forced: new Set() });
  await s.statCache.save();
  if (f.json) {
    io.stdout.write(JSON.stringify({ stages: plan.planned, failures: plan.failures }) + '\n');
  } else {
    io.stdout.write(formatStatus(plan.planned, { color: useColor(io) }) + '\n');
    printFailures(io, plan.failures);
  }
  return plan.failures.length ? EXIT.failed : EXIT.ok;
}
