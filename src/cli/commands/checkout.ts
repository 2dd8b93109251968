/**
 * `pipe checkout [stage...]`: puts the outputs that pipeline.lock records back
 * from the cache, e.g. after `git checkout` of another experiment's commit.
 */
import { saveHashCaches } from '../../run/session.ts';
import path from 'node:path';
import type { CliIO } from '../io.ts';
import { EXIT } from '../io.ts';
import { printFailures, printWarnings } from '../errors.ts';
import { hashPath } from '../../hash/tree.ts';
import { restoreOutput } from '../../run/restore.ts';
import type { Failure } from '../../failure.ts';
import { sessionOrReport, stagesOrReport } from '../session.ts';

export async function checkoutCommand(io: CliIO, targets: string[], f: { file?: string }): Promise<number> {
  const s = await sessionOrReport(io, f.file);
  if (!s) return EXIT.usage;
  const names = stagesOrReport(io, s, targets, { upstream: false });
  if (!names) return EXIT.usage;
  const failures: Failure[] = [];
  let restored = 0;
  let same = 0;
  for (const name of names) {
    const entry = s.lock.stages[name];
    if (!entry) {
      io.stderr.write(`${name}: not in pipeline.lock, nothing to check out (run it with \`pipe run ${name}\`)\n`);
      continue;
    }
    for (const [rel, out] of Object.entries(entry.outs)) {
      const abs = path.join(s.root, rel);
      const cur = await hashPath(abs, { statCache: s.statCache, records: s.records });
      if (cur?.hash === out.hash) {
        same++;
        continue;
      }
      const r = await restoreOutput(s, { kind: out.files === undefined ? 'file' : 'dir', hash: out.hash, size: out.size }, abs, rel);
      if (!r.ok) {
        failures.push({ ...r.error, stage: name, hint: r.error.hint ?? `run \`pipe run ${name}\` to recompute it` });
        continue;
      }
      restored++;
      io.stdout.write(`restored ${rel} (${name})\n`);
    }
  }
  printWarnings(io, await saveHashCaches(s));
  io.stdout.write(`${restored} output(s) restored, ${same} already as recorded\n`);
  printFailures(io, failures);
  return failures.length ? EXIT.failed : EXIT.ok;
}
