/**
 * Putting the outputs pipeline.lock records back from the cache (`pipe
 * checkout`, and `pipe pull` after it fetched them). Data only: no command
 * runs, and every path from the lock is checked to stay inside the repo.
 */
import path from 'node:path';
import type { Failure } from '../failure.ts';
import { hashPath } from '../hash/tree.ts';
import { resolveInsideRepo } from '../util/inside-repo.ts';
import { restoreOutput } from './restore.ts';
import type { Session } from './session.ts';

export interface CheckoutResult {
  restored: { stage: string; path: string }[];
  /** Outputs already as recorded. */
  same: number;
  /** Named stages the lock does not know. */
  notInLock: string[];
  failures: Failure[];
}

/** Restores every out the lock records for `names` whose current content differs. */
export async function checkoutStages(s: Session, names: string[], onRestored?: (stage: string, rel: string) => void): Promise<CheckoutResult> {
  const res: CheckoutResult = { restored: [], same: 0, notInLock: [], failures: [] };
  const source = path.basename(s.lockFile);
  for (const name of names) {
    const entry = s.lock.stages[name];
    if (!entry) {
      res.notInLock.push(name);
      continue;
    }
    for (const [rel, out] of Object.entries(entry.outs)) {
      // Checked before hashing too: hashing through a link would read outside the repo.
      const inside = resolveInsideRepo(s.root, rel, source);
      if (!inside.ok) {
        res.failures.push({ ...inside.error, stage: name });
        continue;
      }
      const cur = await hashPath(inside.value, { statCache: s.statCache, records: s.records });
      if (cur?.hash === out.hash) {
        res.same++;
        continue;
      }
      const r = await restoreOutput(s, { kind: out.files === undefined ? 'file' : 'dir', hash: out.hash, size: out.size }, rel, source);
      if (!r.ok) {
        res.failures.push({ ...r.error, stage: name, hint: r.error.hint ?? `run \`pipe run ${name}\` to recompute it` });
        continue;
      }
      res.restored.push({ stage: name, path: rel });
      onRestored?.(name, rel);
    }
  }
  return res;
}
