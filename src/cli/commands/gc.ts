/**
 * `pipe gc [--dry-run] [--keep-days N]`: removes cache objects that neither
 * pipeline.lock nor a run (or item) recorded in the last N days (default 30)
 * refers to. Recent runs are kept so that setting a param back to last week's
 * value still restores instead of recomputing.
 */
import { existsSync } from 'node:fs';
import type { CliIO } from '../io.ts';
import { EXIT } from '../io.ts';
import { printFailures } from '../errors.ts';
import type { Digest } from '../../hash/digest.ts';
import { acquireRepoLock } from '../../lock/repo-lock.ts';
import { sessionOrReport } from '../session.ts';

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export async function gcCommand(io: CliIO, f: { file?: string; dryRun: boolean; keepDays?: string }): Promise<number> {
  const keepDays = f.keepDays === undefined ? 30 : Number(f.keepDays);
  if (!Number.isFinite(keepDays) || keepDays < 0) {
    printFailures(io, [{ kind: 'usage', message: `--keep-days must be a number of days (0 or more), not '${f.keepDays}'` }]);
    return EXIT.usage;
  }
  const s = await sessionOrReport(io, f.file);
  if (!s) return EXIT.usage;
  const records: { kind: 'file' | 'dir'; hash: Digest }[] = [];
  for (const e of Object.values(s.lock.stages)) {
    for (const o of [...Object.values(e.outs), ...Object.values(e.deps)]) records.push({ kind: o.files === undefined ? 'file' : 'dir', hash: o.hash });
  }
  const cutoff = Date.now() - keepDays * 86_400_000;
  const runKeys = (await s.store.listRuns()).filter((r) => Date.parse(r.createdAt) >= cutoff).map((r) => r.key);
  const itemKeys = (await s.store.listItems()).filter((r) => Date.parse(r.createdAt) >= cutoff).map((r) => r.key);
  // A run writing to the cache while gc deletes would lose objects.
  const lock = await acquireRepoLock(s.pipeDir, { wait: false });
  if (!lock.ok) {
    printFailures(io, [lock.error]);
    return EXIT.failed;
  }
  let r;
  let folders;
  try {
    r = await s.store.gc({ records, runKeys, itemKeys }, { dryRun: f.dryRun });
    // Records of folders that are gone (renamed, deleted) only take space.
    folders = await s.records.prune((abs) => existsSync(abs), { dryRun: f.dryRun });
  } finally {
    await lock.value.release();
  }
  const verb = f.dryRun ? 'would remove' : 'removed';
  io.stdout.write(
    `${verb} ${r.objects} object(s) (${bytes(r.bytes)}), ${r.manifests} manifest(s), ${r.runs} run record(s), ${r.items} item record(s), ${folders} folder record(s)\n`,
  );
  return EXIT.ok;
}
