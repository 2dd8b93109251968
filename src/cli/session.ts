/** What every command does first: open the repo, pick the stages; on failure print why. */
import type { CliIO } from './io.ts';
import { printFailures } from './errors.ts';
import { openSession, type Session } from '../run/session.ts';
import { selectStages } from '../graph.ts';

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
