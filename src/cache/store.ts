/**
 * The content-addressed cache, one folder (usually `<repo>/cache`):
 *
 *   objects/<2 hex>/<14 hex>     file contents, named by their xxhash64
 *   manifests/<hash>.json        folder manifests, named by the folder's Merkle hash
 *   runs/<stage key>.json        what a stage run produced (its outs' hashes)
 *   items/<2 hex>/<key>.json     what one item of a per-item stage produced
 *
 * Every write goes to a `.pipe-tmp-<pid>-<rand>` sibling and is renamed into
 * place, so a kill at any moment never leaves a half object under a real
 * name. Every restore re-hashes what it copied: a damaged object is deleted
 * and reported, never silently used.
 */
import { constants as fsc, readFileSync, statSync, type Dirent } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { failure, FailureError, type Failure } from '../failure.ts';
import { err, ok, type Result } from '../util/result.ts';
import { hashFileSized, isDigest, type Digest } from '../hash/digest.ts';
import { manifestHash, type ManifestEntry, type PathHash } from '../hash/tree.ts';
import { isTempName, tempIsStale, tempName } from '../hash/temp-name.ts';
import { replacePath, writeFileAtomic } from './atomic.ts';
import { parseItemRecord, parseManifest, parseRunRecord, serializeManifest } from './records.ts';

/** How a stored output is described in a run record. */
export interface OutRecord {
  kind: 'file' | 'dir';
  hash: Digest;
  size: number;
  files?: number;
}

export interface RunRecord {
  stage: string;
  outs: Record<string, OutRecord>;
  durationMs: number;
  createdAt: string;
}

export interface ItemRecord {
  /** The item's output files, relative to the stage's map.out folder. */
  files: ManifestEntry[];
  summary?: unknown;
  createdAt: string;
}

/** Something the cache can restore: a file object or a folder manifest. */
export interface StoredRef {
  kind: 'file' | 'dir';
  hash: Digest;
  /** When known, a file object of another size counts as absent. */
  size?: number;
}

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

export interface CacheStoreOptions {
  /** Files copied at once when storing or restoring a folder (default 16). */
  concurrency?: number;
}

// Reflink where the filesystem can (btrfs, xfs, APFS): instant and shares
// blocks; elsewhere an ordinary copy.
const CLONE = fsc.COPYFILE_FICLONE;

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readdirOrEmpty(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

export class CacheStore {
  readonly dir: string;
  private readonly concurrency: number;
  /** Object fan-out folders known to exist, to skip a mkdir per object. */
  private readonly madeDirs = new Set<string>();

  constructor(dir: string, opts: CacheStoreOptions = {}) {
    this.dir = path.resolve(dir);
    this.concurrency = opts.concurrency ?? 16;
  }

  objectPath(hash: Digest): string {
    return path.join(this.dir, 'objects', hash.slice(0, 2), hash.slice(2));
  }

  manifestPath(hash: Digest): string {
    return path.join(this.dir, 'manifests', `${hash}.json`);
  }

  runPath(key: Digest): string {
    return path.join(this.dir, 'runs', `${key}.json`);
  }

  itemPath(key: Digest): string {
    return path.join(this.dir, 'items', key.slice(0, 2), `${key}.json`);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.madeDirs.add(dir);
  }

  // ---- objects -------------------------------------------------------------

  /**
   * Copies `src` in as object `hash` unless an object of that size is already
   * there. The copy is hashed before it is published: if `src` changed since
   * it was hashed, nothing is stored and a FailureError ('io') is thrown.
   */
  /**
   * Whether object `hash` is present (with `size`, when given). Synchronous:
   * a run over 10,000 cached files asks this 10,000 times, and on a busy
   * 2-core machine a thread-pool round trip per question costs far more than
   * the stat (see hash/tree.ts).
   */
  private objectPresent(hash: Digest, size?: number): boolean {
    const st = statSync(this.objectPath(hash), { throwIfNoEntry: false });
    return st !== undefined && (size === undefined || st.size === size);
  }

  private async putObject(src: string, hash: Digest, size: number): Promise<void> {
    const obj = this.objectPath(hash);
    if (this.objectPresent(hash, size)) return;
    await this.ensureDir(path.dirname(obj));
    const tmp = tempName(obj);
    try {
      await copyFile(src, tmp, CLONE);
      const got = await hashFileSized(tmp, size);
      if (got !== hash) {
        throw new FailureError(
          failure('io', `${src} changed while it was being stored in the cache`, {
            file: src,
            hint: 'make sure nothing else writes to this output while pipe runs, then run again',
          }),
        );
      }
      await rename(tmp, obj);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }

  /**
   * Stores the file or folder at `abs`, as hashed in `h`: copies in each file
   * object that is absent (in parallel) and, for a folder, its manifest.
   */
  async storePath(abs: string, h: PathHash): Promise<void> {
    if (h.kind === 'file') {
      await this.putObject(abs, h.hash, h.size);
      return;
    }
    const limit = pLimit(this.concurrency);
    const missing = h.manifest.filter((e) => !this.objectPresent(e.hash, e.size));
    await Promise.all(missing.map((e) => limit(() => this.putObject(path.join(abs, ...e.path.split('/')), e.hash, e.size))));
    await this.saveManifest(h);
  }

  /** Saves a folder's manifest (also for deps, so `pipe status` can list which files changed). */
  async saveManifest(h: PathHash & { kind: 'dir' }): Promise<void> {
    const file = this.manifestPath(h.hash);
    try {
      await stat(file);
      return; // content-addressed: an existing manifest is this manifest
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
    await writeFileAtomic(file, serializeManifest(h.manifest));
  }

  /** A folder's manifest, or null if absent or damaged (its hash is checked). */
  async loadManifest(hash: Digest): Promise<ManifestEntry[] | null> {
    let text: string;
    try {
      text = await readFile(this.manifestPath(hash), 'utf8');
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
    const m = parseManifest(text);
    return m && manifestHash(m) === hash ? m : null;
  }

  /** true when every object needed to restore `r` is present (content is verified on restore). */
  async hasPath(r: StoredRef): Promise<boolean> {
    if (r.kind === 'file') return this.objectPresent(r.hash, r.size);
    const m = await this.loadManifest(r.hash);
    return m !== null && m.every((e) => this.objectPresent(e.hash, e.size));
  }

  /**
   * Copies object `hash` to `dst` and re-hashes the copy. A missing or
   * damaged object is deleted from the cache and reported as 'corrupt-cache'
   * naming the object and `shownAs` (the output path the user knows).
   */
  private async copyOut(hash: Digest, size: number, dst: string, shownAs: string): Promise<Failure | undefined> {
    const obj = this.objectPath(hash);
    const hint = 'the object was removed from the cache; run the stage again to rebuild it (pipe run)';
    try {
      await copyFile(obj, dst, CLONE);
    } catch (e) {
      if (!isMissing(e)) throw e;
      return failure('corrupt-cache', `cache object ${hash} for ${shownAs} is missing`, { file: obj, hint: 'run the stage again to rebuild it (pipe run)' });
    }
    // The expected size picks the cheap path; a wrong size still hashes correctly.
    const got = await hashFileSized(dst, size);
    if (got === hash) return undefined;
    await unlink(obj).catch(() => {});
    await unlink(dst).catch(() => {});
    return failure('corrupt-cache', `cache object ${hash} for ${shownAs} is corrupt (its content hashes to ${got})`, { file: obj, hint });
  }

  private static combine(failures: Failure[], what: string): Failure {
    if (failures.length === 1) return failures[0]!;
    const first = failures[0]!;
    return { ...first, message: `${failures.length} cache objects for ${what} are missing or corrupt; first: ${first.message}`, causes: failures };
  }

  /** Removes temps a killed earlier run left next to `destAbs`. */
  private async cleanSiblingTemps(destAbs: string): Promise<void> {
    const prefix = path.basename(destAbs) + '.pipe-tmp';
    for (const d of await readdirOrEmpty(path.dirname(destAbs))) {
      if (d.name.startsWith(prefix) && tempIsStale(d.name)) {
        await rm(path.join(path.dirname(destAbs), d.name), { recursive: true, force: true });
      }
    }
  }

  /**
   * Restores a stored file or folder to `destAbs`. It is built at a temp
   * sibling, every object re-hashed as it is copied; only when all is well is
   * the old `destAbs` swapped out. On failure `destAbs` is untouched, the bad
   * objects are deleted from the cache, and a 'corrupt-cache' Failure says which.
   */
  async restorePath(r: StoredRef, destAbs: string): Promise<Result<void, Failure>> {
    const parent = path.dirname(destAbs);
    await mkdir(parent, { recursive: true });
    await this.cleanSiblingTemps(destAbs);
    const tmp = tempName(destAbs);
    try {
      if (r.kind === 'file') {
        const f = await this.copyOut(r.hash, r.size ?? Infinity, tmp, destAbs);
        if (f) return err(f);
      } else {
        const m = await this.loadManifest(r.hash);
        if (!m) {
          return err(
            failure('corrupt-cache', `the cached folder manifest ${r.hash} for ${destAbs} is missing or damaged`, {
              file: this.manifestPath(r.hash),
              hint: 'run the stage again to rebuild it (pipe run)',
            }),
          );
        }
        const f = await this.materialize(m, tmp, destAbs);
        if (f) return err(f);
      }
      await replacePath(tmp, destAbs);
      return ok(undefined);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Copies the objects of `files` into `root` (which need not exist), verifying each. */
  private async materialize(files: ManifestEntry[], root: string, shownRoot: string): Promise<Failure | undefined> {
    await mkdir(root, { recursive: true });
    const dirs = new Set<string>();
    for (const e of files) {
      const i = e.path.lastIndexOf('/');
      if (i > 0) dirs.add(e.path.slice(0, i));
    }
    for (const d of [...dirs].sort()) await mkdir(path.join(root, ...d.split('/')), { recursive: true });
    const limit = pLimit(this.concurrency);
    const failures = (
      await Promise.all(
        files.map((e) => limit(() => this.copyOut(e.hash, e.size, path.join(root, ...e.path.split('/')), path.join(shownRoot, ...e.path.split('/'))))),
      )
    ).filter((f): f is Failure => f !== undefined);
    return failures.length ? CacheStore.combine(failures, shownRoot) : undefined;
  }

  /**
   * Copies an item's output files from the cache into `destDir`, each via a
   * temp name and rename, verifying every object. Files of other items in
   * `destDir` are left alone.
   */
  async materializeItemFiles(files: ManifestEntry[], destDir: string): Promise<Result<void, Failure>> {
    const limit = pLimit(this.concurrency);
    const failures = (
      await Promise.all(
        files.map((e) =>
          limit(async () => {
            const dest = path.join(destDir, ...e.path.split('/'));
            await mkdir(path.dirname(dest), { recursive: true });
            const tmp = tempName(dest);
            const f = await this.copyOut(e.hash, e.size, tmp, dest);
            if (f) return f;
            await rename(tmp, dest).catch(async (x: unknown) => {
              await unlink(tmp).catch(() => {});
              throw x;
            });
            return undefined;
          }),
        ),
      )
    ).filter((f): f is Failure => f !== undefined);
    return failures.length ? err(CacheStore.combine(failures, destDir)) : ok(undefined);
  }

  // ---- run and item records -----------------------------------------------

  async putRun(key: Digest, rec: RunRecord): Promise<void> {
    await writeFileAtomic(this.runPath(key), JSON.stringify(rec));
  }

  /** The run record for a stage key, or null if absent or damaged. */
  async getRun(key: Digest): Promise<RunRecord | null> {
    return parseRunRecord(await this.readText(this.runPath(key)));
  }

  async putItem(key: Digest, rec: ItemRecord): Promise<void> {
    await writeFileAtomic(this.itemPath(key), JSON.stringify(rec));
  }

  /** The record of one processed item, or null if absent or damaged. */
  async getItem(key: Digest): Promise<ItemRecord | null> {
    return this.getItemSync(key);
  }

  /**
   * getItem, synchronously: callers look up thousands of these small files
   * (a per-item stage, gc), where a thread-pool round trip per file costs
   * more than the read.
   */
  getItemSync(key: Digest): ItemRecord | null {
    let text: string;
    try {
      text = readFileSync(this.itemPath(key), 'utf8');
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
    return parseItemRecord(text);
  }

  private async readText(file: string): Promise<string | null> {
    try {
      return await readFile(file, 'utf8');
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  /** Every run record (key and creation time), for gc's keep-recent policy; damaged ones get createdAt ''. */
  async listRuns(): Promise<{ key: Digest; createdAt: string }[]> {
    const out: { key: Digest; createdAt: string }[] = [];
    for (const d of await readdirOrEmpty(path.join(this.dir, 'runs'))) {
      const key = d.name.slice(0, -'.json'.length);
      if (!d.name.endsWith('.json') || !isDigest(key)) continue;
      out.push({ key, createdAt: (await this.getRun(key))?.createdAt ?? '' });
    }
    return out;
  }

  /** Every item record (key and creation time); damaged ones get createdAt ''. */
  async listItems(): Promise<{ key: Digest; createdAt: string }[]> {
    const out: { key: Digest; createdAt: string }[] = [];
    for (const key of await this.itemKeys()) out.push({ key, createdAt: (await this.getItem(key))?.createdAt ?? '' });
    return out;
  }

  private async itemKeys(): Promise<Digest[]> {
    const keys: Digest[] = [];
    const root = path.join(this.dir, 'items');
    for (const fan of await readdirOrEmpty(root)) {
      if (!fan.isDirectory()) continue;
      for (const d of await readdirOrEmpty(path.join(root, fan.name))) {
        const key = d.name.slice(0, -'.json'.length);
        if (d.name.endsWith('.json') && isDigest(key)) keys.push(key);
      }
    }
    return keys;
  }

  // ---- cleaning ----------------------------------------------------------

  /**
   * Deletes temps left by pipe processes that are gone (killed mid-write).
   * Cheap enough to call at the start of a run; gc calls it too.
   */
  async cleanTemps(opts: { dryRun?: boolean } = {}): Promise<{ count: number; bytes: number }> {
    let count = 0;
    let bytes = 0;
    const visit = async (dir: string, depth: number): Promise<void> => {
      for (const d of await readdirOrEmpty(dir)) {
        const p = path.join(dir, d.name);
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
    await visit(this.dir, 0);
    return { count, bytes };
  }

  /**
   * Removes every object, manifest, run record and item record not reachable
   * from `keep`: the kept records (a file object, or a manifest and its
   * objects), the outs of the kept run records and the files of the kept item
   * records. Also removes stale temps. With dryRun, only counts.
   * Must not run while another pipe process writes to this cache (the CLI's
   * run lock sees to that).
   */
  async gc(keep: GcKeep, opts: { dryRun: boolean }): Promise<GcResult> {
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
      for (const e of (await this.loadManifest(r.hash)) ?? []) keepObjects.add(e.hash);
    };
    const remove = async (p: string): Promise<number> => {
      const size = await stat(p).then((s) => s.size, () => 0);
      if (!opts.dryRun) await rm(p, { force: true });
      return size;
    };

    for (const r of keep.records) await keepRef(r);

    const runKeys = new Set<string>(keep.runKeys);
    for (const d of await readdirOrEmpty(path.join(this.dir, 'runs'))) {
      if (isTempName(d.name)) continue; // cleanTemps' business
      const key = d.name.endsWith('.json') ? d.name.slice(0, -5) : '';
      const rec = isDigest(key) && runKeys.has(key) ? await this.getRun(key) : null;
      if (rec) {
        for (const o of Object.values(rec.outs)) await keepRef(o);
      } else {
        res.runs++;
        res.bytes += await remove(path.join(this.dir, 'runs', d.name));
      }
    }

    const itemKeep = keep.itemKeys === undefined || keep.itemKeys === 'all' ? 'all' : new Set<string>(keep.itemKeys);
    for (const key of await this.itemKeys()) {
      const rec = itemKeep === 'all' || itemKeep.has(key) ? await this.getItem(key) : null;
      if (rec) {
        for (const e of rec.files) keepObjects.add(e.hash);
      } else {
        res.items++;
        res.bytes += await remove(this.itemPath(key));
      }
    }

    for (const d of await readdirOrEmpty(path.join(this.dir, 'manifests'))) {
      if (isTempName(d.name)) continue;
      const hash = d.name.endsWith('.json') ? d.name.slice(0, -5) : '';
      if (keepManifests.has(hash)) continue;
      res.manifests++;
      res.bytes += await remove(path.join(this.dir, 'manifests', d.name));
    }

    const objRoot = path.join(this.dir, 'objects');
    for (const fan of await readdirOrEmpty(objRoot)) {
      if (!fan.isDirectory()) continue;
      for (const d of await readdirOrEmpty(path.join(objRoot, fan.name))) {
        if (isTempName(d.name) || keepObjects.has(fan.name + d.name)) continue;
        res.objects++;
        res.bytes += await remove(path.join(objRoot, fan.name, d.name));
      }
    }

    const temps = await this.cleanTemps(opts);
    res.bytes += temps.bytes;
    return res;
  }
}
