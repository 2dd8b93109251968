/** Test helpers for executor tests: temp folders and "is this process gone?". */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { procStat } from '../../src/exec/process-group.ts';

export async function tempDir(prefix = 'pipe-exec-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * True when `pid` no longer runs. process.kill(pid, 0) is the check, but a
 * killed orphan stays a zombie where PID 1 does not reap (this container), and
 * signalling a zombie succeeds: a zombie counts as gone.
 */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  return procStat(pid)?.state === 'Z';
}

export async function waitFor<T>(get: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
