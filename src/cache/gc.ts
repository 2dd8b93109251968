/**
 * Cleaning the cache: temps left by killed processes, and everything no kept
 * record reaches. Must not run while another pipe process writes to this
 * cache (the CLI's run lock sees to that).
 */
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { isDigest, type Digest } from '../hash/digest.ts';
import { isTempName, tempIsStale } from '../hash/temp-name.ts';
import { readdirOrEmpty } from './layout.ts';
import type { ObjectStore } from './objects.ts';
import type { StoredRef } from './records.ts';
import type { RecordStore } from './run-records.ts';

export interface GcKeep {
  records: StoredRef[];
  runKeys: Digest[];
  /** Item records to keep; default 'all' (item caches are only dropped when asked). */
  itemKeys?: Digest[] | 'all';
}

export interface GcResult {
  objects: number;
  bytes: number;
  manifests: number;
  runs: number;
  items: number;
}

/**
 * Deletes temps left by pipe processes that are gone (killed mid-write), in
 * the cache folder `dir` and two levels below it. Cheap enough to call at the
 * start of a run; gc calls it too.
 */
export async function cleanTemps(dir: string, opts: { dryRun?: boolean } = {}): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  const visit = async (d0: string, depth: number): Promise<void> => {
    for (const d of await readdirOrEmpty(d0)) {
      const p = path.join(d0, d.name);
      if (isTempName(d.name)) {
        if (!tempIsStale(d.name)) continue;
        count++;
        bytes += await stat(p).then((s) => s.size, () => 0);
        if (!opts.dryRun) await rm(p, { recursive: true, force: true });
      } else if (d.isDirectory() && depth < 2) {
        await visit(p, depth + 1);
      }
    }
  };
  await visit(dir, 0);
  return { count, bytes };
}

/**
 * Removes every object, manifest, run record and item record not reachable
 * from `keep`: the kept records (a file object, or a manifest and its
 * objects), the outs of the kept run records and the files of the kept item
 * records. Also removes stale temps. With dryRun, only counts.
 */
export async function gc(objects: ObjectStore, records: RecordStore, keep: GcKeep, opts: { dryRun: boolean }): Promise<GcResult> {
  const dir = objects.layout.dir;
  const res: GcResult = { objects: 0, bytes: 0, manifests: 0, runs: 0, items: 0 };
  const keepObjects = new Set<string>();
  const keepManifests = new Set<string>();
  const keepRef = async (r: StoredRef): Promise<void> => {
    if (r.kind === 'file') {
      keepObjects.add(r.hash);
      return;
    }
    if (keepManifests.has(r.hash)) return;
    keepManifests.add(r.hash);
    for (const e of (await objects.loadManifest(r.hash)) ?? []) keepObjects.add(e.hash);
  };
  const remove = async (p: string): Promise<number> => {
    const size = await stat(p).then((s) => s.size, () => 0);
    if (!opts.dryRun) await rm(p, { force: true });
    return size;
  };

  for (const r of keep.records) await keepRef(r);

  const runKeys = new Set<string>(keep.runKeys);
  for (const d of await readdirOrEmpty(path.join(dir, 'runs'))) {
    if (isTempName(d.name)) continue; // cleanTemps' business
    const key = d.name.endsWith('.json') ? d.name.slice(0, -5) : '';
    const rec = isDigest(key) && runKeys.has(key) ? await records.getRun(key) : null;
    if (rec) {
      for (const o of Object.values(rec.outs)) await keepRef(o);
    } else {
      res.runs++;
      res.bytes += await remove(path.join(dir, 'runs', d.name));
    }
  }

  const itemKeep = keep.itemKeys === undefined || keep.itemKeys === 'all' ? 'all' : new Set<string>(keep.itemKeys);
  for (const key of await records.itemKeys()) {
    const rec = itemKeep === 'all' || itemKeep.has(key) ? records.getItemSync(key) : null;
    if (rec) {
      for (const e of rec.files) keepObjects.add(e.hash);
    } else {
      res.items++;
      res.bytes += await remove(objects.layout.itemPath(key));
    }
  }

  for (const d of await readdirOrEmpty(path.join(dir, 'manifests'))) {
    if (isTempName(d.name)) continue;
    const hash = d.name.endsWith('.json') ? d.name.slice(0, -5) : '';
    if (keepManifests.has(hash)) continue;
    res.manifests++;
    res.bytes += await remove(path.join(dir, 'manifests', d.name));
  }

  const objRoot = path.join(dir, 'objects');
  for (const fan of await readdirOrEmpty(objRoot)) {
    if (!fan.isDirectory()) continue;
    for (const d of await readdirOrEmpty(path.join(objRoot, fan.name))) {
      if (isTempName(d.name) || keepObjects.has(fan.name + d.name)) continue;
      res.objects++;
      res.bytes += await remove(path.join(objRoot, fan.name, d.name));
    }
  }

  const temps = await cleanTemps(dir, opts);
  res.bytes += temps.bytes;
  return res;
}
