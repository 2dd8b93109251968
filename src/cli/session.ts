/** What every command does first: open the repo, pick the stages; on failure print why. */
import type { CliIO } from './io.ts';
import { printFailures } from './errors.ts';
import { openSession, type Session } from '../run/session.ts';
import { selectStages } from '../graph.ts';
import { lockAtRevision } from '../metrics/diff.ts';
import type { LockFile } from '../lock/lockfile.ts';

/** The repo's session, or undefined after printing why it could not be opened (exit 2). */
export async function sessionOrReport(io: CliIO, file: string | undefined): Promise<Session | undefined> {
  const session = await openSession({ cwd: io.cwd, ...(file ? { file } : {}) });
  if (session.ok) return session.value;
  printFailures(io, session.error);
  return undefined;
}

/** The named stages (all when none are named), or undefined after printing why (exit 2). */
export function stagesOrReport(io: CliIO, s: Session, targets: string[], o: { upstream?: boolean } = {}): string[] | undefined {
  if (!targets.length) return s.graph.order;
  const selected = selectStages(s.graph, targets, o);
  if (selected.ok) return selected.value;
  printFailures(io, [selected.error]);
  return undefined;
}

/**
 * For `pipe metrics diff` / `pipe params diff`: the session, the revision
 * (default HEAD) and the lock recorded at it, or undefined after printing why.
 */
export async function lockAtRevisionOrReport(
  io: CliIO,
  command: string,
  args: string[],
  file: string | undefined,
): Promise<{ s: Session; rev: string; lock: LockFile } | undefined> {
  if (args.length > 1) {
    io.stderr.write(`pipe ${command}: expected at most one revision, got ${args.length}\n`);
    return undefined;
  }
  const rev = args[0] ?? 'HEAD';
  const s = await sessionOrReport(io, file);
  if (!s) return undefined;
  const lock = await lockAtRevision(s.root, s.lockFile, rev);
  if (!lock.ok) {
    printFailures(io, [lock.error]);
    return undefined;
  }
  return { s, rev, lock: lock.value };
}
