/**
 * `pipe checkout [stage...]`: puts the outputs that pipeline.lock records back
 * from the cache, e.g. after `git checkout` of another experiment's commit.
 */
import { saveHashCaches } from '../../run/session.ts';
import type { CliIO } from '../io.ts';
import { EXIT } from '../io.ts';
import { printFailures, printWarnings } from '../errors.ts';
import { checkoutStages } from '../../run/checkout.ts';
import { sessionOrReport, stagesOrReport } from '../session.ts';

export async function checkoutCommand(io: CliIO, targets: string[], f: { file?: string }): Promise<number> {
  const s = await sessionOrReport(io, f.file);
  if (!s) return EXIT.usage;
  const names = stagesOrReport(io, s, targets, { upstream: false });
  if (!names) return EXIT.usage;
  const res = await checkoutStages(s, names, (stage, rel) => io.stdout.write(`restored ${rel} (${stage})\n`));
  for (const name of res.notInLock) io.stderr.write(`${name}: not in pipeline.lock, nothing to check out (run it with \`pipe run ${name}\`)\n`);
  printWarnings(io, await saveHashCaches(s));
  io.stdout.write(`${res.restored.length} output(s) restored, ${res.same} already as recorded\n`);
  printFailures(io, res.failures);
  return res.failures.length ? EXIT.failed : EXIT.ok;
}
