/**
 * The content-addressed cache, one folder (usually `<repo>/cache`; layout in
 * `layout.ts`). This class is the one handle the rest of the engine holds; the
 * work is done by the modules for each concern:
 *
 *   objects.ts      file objects and folder manifests (store, verify, copy out)
 *   run-records.ts  run records and item records
 *   restore.ts      putting stored outputs back in the work tree
 *   gc.ts           stale temps and unreachable entries
 *   records.ts      the record types and their on-disk JSON
 */
import type { Failure } from '../failure.ts';
import type { Result } from '../util/result.ts';
import type { Digest } from '../hash/digest.ts';
import type { ManifestEntry, PathHash } from '../hash/tree.ts';
import { CacheLayout } from './layout.ts';
import { ObjectStore } from './objects.ts';
import { RecordStore } from './run-records.ts';
import { materializeItemFiles, restorePath } from './restore.ts';
import { cleanTemps, gc, type GcKeep, type GcResult } from './gc.ts';
import type { ItemRecord, RunRecord, StoredRef } from './records.ts';

export type { ItemRecord, OutRecord, RunRecord, StoredRef } from './records.ts';
export type { GcKeep, GcResult } from './gc.ts';

export interface CacheStoreOptions {
  /** Files copied at once when storing or restoring a folder (default 16). */
  concurrency?: number;
}

export class CacheStore {
  readonly dir: string;
  readonly layout: CacheLayout;
  readonly objects: ObjectStore;
  readonly records: RecordStore;

  constructor(dir: string, opts: CacheStoreOptions = {}) {
    this.layout = new CacheLayout(dir);
    this.dir = this.layout.dir;
    this.objects = new ObjectStore(this.layout, opts.concurrency ?? 16);
    this.records = new RecordStore(this.layout);
  }

  objectPath(hash: Digest): string {
    return this.layout.objectPath(hash);
  }
  manifestPath(hash: Digest): string {
    return this.layout.manifestPath(hash);
  }
  runPath(key: Digest): string {
    return this.layout.runPath(key);
  }
  itemPath(key: Digest): string {
    return this.layout.itemPath(key);
  }

  // ---- objects (objects.ts) ------------------------------------------------
  storePath(abs: string, h: PathHash, whole?: PathHash & { kind: 'dir' }): Promise<void> {
    return this.objects.storePath(abs, h, whole);
  }
  storeFiles(abs: string, files: ManifestEntry[]): Promise<void> {
    return this.objects.storeFiles(abs, files);
  }
  saveManifest(h: PathHash & { kind: 'dir' }): Promise<void> {
    return this.objects.saveManifest(h);
  }
  loadManifest(hash: Digest): Promise<ManifestEntry[] | null> {
    return this.objects.loadManifest(hash);
  }
  hasPath(r: StoredRef): Promise<boolean> {
    return this.objects.hasPath(r);
  }

  // ---- restore (restore.ts) ------------------------------------------------
  restorePath(r: StoredRef, destAbs: string): Promise<Result<void, Failure>> {
    return restorePath(this.objects, r, destAbs);
  }
  materializeItemFiles(files: ManifestEntry[], destDir: string): Promise<Result<void, Failure>> {
    return materializeItemFiles(this.objects, files, destDir);
  }

  // ---- run and item records (run-records.ts) -------------------------------
  putRun(key: Digest, rec: RunRecord): Promise<void> {
    return this.records.putRun(key, rec);
  }
  getRun(key: Digest): Promise<RunRecord | null> {
    return this.records.getRun(key);
  }
  putItem(key: Digest, rec: ItemRecord): Promise<void> {
    return this.records.putItem(key, rec);
  }
  async getItem(key: Digest): Promise<ItemRecord | null> {
    return this.records.getItemSync(key);
  }
  getItemSync(key: Digest): ItemRecord | null {
    return this.records.getItemSync(key);
  }
  listRuns(): Promise<{ key: Digest; createdAt: string }[]> {
    return this.records.listRuns();
  }
  listItems(): Promise<{ key: Digest; createdAt: string }[]> {
    return this.records.listItems();
  }

  // ---- cleaning (gc.ts) ----------------------------------------------------
  cleanTemps(opts: { dryRun?: boolean } = {}): Promise<{ count: number; bytes: number }> {
    return cleanTemps(this.dir, opts);
  }
  gc(keep: GcKeep, opts: { dryRun: boolean }): Promise<GcResult> {
    return gc(this.objects, this.records, keep, opts);
  }
}
