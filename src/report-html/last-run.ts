/**
 * The failures of the last `pipe run`, kept in `.pipe/last-run.json` so the
 * report can say why a stage failed (its message and stderr tail), not only
 * that it is not up to date. The runner does not write this file yet: the
 * run command should call `writeLastRun` with its run-finished summary.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Failure } from '../failure.ts';
import type { RunSummary } from '../events.ts';
import { writeFileAtomic } from '../cache/atomic.ts';

export interface LastRun {
  finishedAt: string;
  summary: RunSummary;
  failures: Failure[];
}

export function lastRunPath(pipeDir: string): string {
  return path.join(pipeDir, 'last-run.json');
}

/** Records the outcome of a run (call once, after run-finished). */
export async function writeLastRun(pipeDir: string, run: LastRun): Promise<void> {
  await writeFileAtomic(lastRunPath(pipeDir), JSON.stringify(run, null, 2) + '\n');
}

/** The last run's record, or undefined when there is none or it cannot be read (the report then shows states only). */
export async function readLastRun(pipeDir: string): Promise<LastRun | undefined> {
  try {
    const j = JSON.parse(await readFile(lastRunPath(pipeDir), 'utf8')) as Partial<LastRun>;
    if (!j || typeof j !== 'object' || !Array.isArray(j.failures) || typeof j.finishedAt !== 'string' || typeof j.summary !== 'object') return undefined;
    const failures = j.failures.filter((f): f is Failure => typeof f === 'object' && f !== null && typeof (f as Failure).message === 'string');
    return { finishedAt: j.finishedAt, summary: j.summary as RunSummary, failures };
  } catch {
    return undefined;
  }
}
