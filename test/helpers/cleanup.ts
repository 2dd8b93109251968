/** Temp folders and repos a test makes, removed after each test. */
import { afterEach } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Registers the afterEach hook in the calling test file; returns helpers that record what to remove. */
export function useCleanups() {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  return {
    /** Runs `f` after this test. */
    later(f: () => Promise<unknown>): void {
      cleanups.push(f);
    },
    /** Disposes `r` after this test. */
    track<T extends { dispose(): Promise<void> }>(r: T): T {
      cleanups.push(() => r.dispose());
      return r;
    },
    /** A fresh temp folder, removed after this test. */
    async tempDir(prefix: string): Promise<string> {
      const d = await mkdtemp(path.join(os.tmpdir(), prefix));
      cleanups.push(() => rm(d, { recursive: true, force: true }));
      return d;
    },
  };
}
