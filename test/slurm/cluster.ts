/**
 * Whether a Slurm cluster answers here (scripts/slurm-up.sh starts a one-node
 * one). In CI (CI=true) its absence fails the tests: `.ci/run` starts the
 * cluster, so a missing one is a broken setup, not a reason to skip. On a
 * developer machine without it the tests skip and say how to enable them.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { PKG_ROOT, jsonEvents, type PipeResult } from '../helpers/repo.ts';

export const SLURM_STAGES = path.join(PKG_ROOT, 'test', 'fixtures', 'slurm-stages');

function clusterUp(): boolean {
  try {
    return /idle|mixed|alloc/.test(execFileSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', timeout: 10_000 }));
  } catch {
    return false;
  }
}

export const CLUSTER = clusterUp();
if (!CLUSTER) {
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error('no Slurm cluster answers (sinfo); CI must start one with scripts/slurm-up.sh');
  console.warn('Slurm tests skipped: no cluster answers `sinfo`. Start one with `sudo scripts/slurm-up.sh`.');
}

/** The state squeue gives for a job (array tasks: the first), or undefined once it left the controller. */
export function jobState(id: string): string | undefined {
  const out = execFileSync('squeue', ['-h', '-r', '-t', 'all', '-j', id, '-o', '%T'], { encoding: 'utf8' }).trim();
  return out.split('\n')[0] || undefined;
}

/** Failures of a `pipe run --json`. */
export function failuresOf(r: PipeResult): Array<{ kind: string; message: string; file?: string; stderrTail?: string[]; causes?: Array<{ message: string }> }> {
  const end = jsonEvents(r.stdout).find((e) => e.type === 'run-finished');
  if (!end) throw new Error(`no run-finished event:\n${r.stdout}\n${r.stderr}`);
  return end.failures as never;
}

/** Job ids the run reported submitting ("submitted as Slurm job N" / "... array job N"). */
export function submittedJobs(stdout: string): string[] {
  return [...stdout.matchAll(/Slurm (?:array )?job (\d+)/g)].map((m) => m[1]!).filter((v, i, a) => a.indexOf(v) === i);
}
