/** Putting a recorded output back from the cache (`pipe run` restores, `pipe checkout`). */
import type { Failure } from '../failure.ts';
import type { Result } from '../util/result.ts';
import { err, ok } from '../util/result.ts';
import type { Session } from './session.ts';
import type { PathHash } from '../hash/tree.ts';
import type { Digest } from '../hash/digest.ts';
import { rememberHashes } from './commit.ts';
import { resolveInsideRepo } from '../util/inside-repo.ts';

export interface RecordedOut {
  kind: 'file' | 'dir';
  hash: Digest;
  size: number;
}

/**
 * Restores `r` at repo-relative `rel` (refused when it would leave the repo;
 * `source` names the file the path came from) and returns its hash. restorePath verifies every
 * object it copies, so the hash is known: the files are not read again, and
 * the stat cache learns them for the next command.
 */
export async function restoreOutput(s: Session, r: RecordedOut, rel: string, source: string): Promise<Result<PathHash, Failure>> {
  const inside = resolveInsideRepo(s.root, rel, source);
  if (!inside.ok) return inside;
  const abs = inside.value;
  const label = rel;
  const restored = await s.store.restorePath(r, abs);
  if (!restored.ok) return restored;
  const manifest = r.kind === 'dir' ? await s.store.loadManifest(r.hash) : null;
  if (r.kind === 'dir' && !manifest) {
    return err({ kind: 'corrupt-cache', message: `the cache lost the manifest of ${label} while restoring it`, file: abs });
  }
  const h: PathHash = manifest
    ? { kind: 'dir', hash: r.hash, size: r.size, files: manifest.length, manifest }
    : { kind: 'file', hash: r.hash, size: r.size };
  await rememberHashes(s, abs, h);
  return ok(h);
}
