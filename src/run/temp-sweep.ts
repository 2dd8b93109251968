/**
 * When a run looks for temps a killed process left in the cache.
 *
 * Such temps (an object being copied in) are harmless, since nothing reads a
 * temp name, but take space. Finding them means listing every folder of the
 * cache, ~0.5 s at 100,000 objects: too much for every run after a one-file
 * change. So a run sweeps when it took over the lock of a run that died (which
 * may have left some), and otherwise at most once a day, for writers that
 * leave no lock behind (a Slurm task or a pull killed mid-write). `pipe gc`
 * always sweeps.
 */
import { stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CacheStore } from '../cache/store.ts';

const STAMP = 'cache-temps-swept';
export const SWEEP_EVERY_MS = 24 * 3600_000;

/** Sweeps the cache's stale temps if a dead run's lock was taken over or the last sweep is a day old. */
export async function sweepCacheTemps(pipeDir: string, store: Pick<CacheStore, 'cleanTemps'>, tookOver: boolean): Promise<boolean> {
  const stamp = path.join(pipeDir, STAMP);
  const last = await stat(stamp).catch(() => undefined);
  if (!tookOver && last && Date.now() - last.mtimeMs < SWEEP_EVERY_MS) return false;
  await store.cleanTemps();
  // The stamp only saves time: failing to write it means sweeping again next run.
  const now = new Date();
  await (last ? utimes(stamp, now, now) : writeFile(stamp, '')).catch(() => {});
  return true;
}
