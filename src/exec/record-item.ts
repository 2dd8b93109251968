/**
 * Turns one processed item's output folder into cache objects and its item
 * record. The runner does it for items processed on this machine; a Slurm
 * array task does it on its node, so a chunk's finished items are cached even
 * if the runner is gone by then.
 */
import type { ItemResult } from '../stage-api.ts';
import type { ManifestEntry } from '../hash/tree.ts';
import { hashPath } from '../hash/tree.ts';
import type { StatCache } from '../hash/stat-cache.ts';
import type { CacheStore, ItemRecord } from '../cache/store.ts';

export async function recordItem(store: CacheStore, key: string, outDir: string, result: ItemResult, statCache: StatCache): Promise<ItemRecord> {
  const h = await hashPath(outDir, { statCache });
  const files: ManifestEntry[] = h && h.kind === 'dir' ? h.manifest : [];
  await store.storeFiles(outDir, files);
  const rec: ItemRecord = { files, ...(result.summary !== undefined ? { summary: result.summary } : {}), createdAt: new Date().toISOString() };
  await store.putItem(key as never, rec);
  return rec;
}
