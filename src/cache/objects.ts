/**
 * File objects and folder manifests: storing outputs in the cache by content
 * hash, and copying single objects back out, verified. Every write goes to a
 * `.pipe-tmp-<pid>-<rand>` sibling and is renamed into place, so a kill at any
 * moment never leaves a half object under a real name.
 */
import { constants as fsc, statSync } from 'node:fs';
import { copyFile, mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { failure, FailureError, type Failure } from '../failure.ts';
import { hashFileSized, type Digest } from '../hash/digest.ts';
import { manifestHash, type ManifestEntry, type PathHash } from '../hash/tree.ts';
import { tempName } from '../hash/temp-name.ts';
import { writeFileAtomic } from './atomic.ts';
import { isMissing, readTextOrNull, type CacheLayout } from './layout.ts';
import { parseManifest, serializeManifest, type StoredRef } from './records.ts';

// Reflink where the filesystem can (btrfs, xfs, APFS): instant and shares
// blocks; elsewhere an ordinary copy.
const CLONE = fsc.COPYFILE_FICLONE;

export class ObjectStore {
  /** Object fan-out folders known to exist, to skip a mkdir per object. */
  private readonly madeDirs = new Set<string>();

  constructor(
    readonly layout: CacheLayout,
    /** Files copied at once when storing or restoring a folder. */
    readonly concurrency: number,
  ) {}

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.madeDirs.add(dir);
  }

  /**
   * Whether object `hash` is present (with `size`, when given). Synchronous:
   * a run over 10,000 cached files asks this 10,000 times, and on a busy
   * 2-core machine a thread-pool round trip per question costs far more than
   * the stat (see hash/tree.ts).
   */
  present(hash: Digest, size?: number): boolean {
    const st = statSync(this.layout.objectPath(hash), { throwIfNoEntry: false });
    return st !== undefined && (size === undefined || st.size === size);
  }

  /**
   * Copies `src` in as object `hash` unless an object of that size is already
   * there. The copy is hashed before it is published: if `src` changed since
   * it was hashed, nothing is stored and a FailureError ('io') is thrown.
   */
  private async put(src: string, hash: Digest, size: number): Promise<void> {
    const obj = this.layout.objectPath(hash);
    if (this.present(hash, size)) return;
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
   * object that is absent (in parallel) and, for a folder, its manifest, or
   * the manifest of `whole` when `abs` holds only the new files of a folder
   * whose other files are already stored.
   */
  async storePath(abs: string, h: PathHash, whole?: PathHash & { kind: 'dir' }): Promise<void> {
    if (h.kind === 'file') {
      await this.put(abs, h.hash, h.size);
      return;
    }
    await this.storeFiles(abs, h.manifest);
    await this.saveManifest(whole ?? h);
  }

  /**
   * Copies in the objects of the files `files` of folder `abs` that are
   * absent, in parallel; no manifest (an item's files are listed in its item record).
   */
  async storeFiles(abs: string, files: ManifestEntry[]): Promise<void> {
    const limit = pLimit(this.concurrency);
    const missing = files.filter((e) => !this.present(e.hash, e.size));
    await Promise.all(missing.map((e) => limit(() => this.put(path.join(abs, ...e.path.split('/')), e.hash, e.size))));
  }

  /** Saves a folder's manifest (also for deps, so `pipe status` can list which files changed). */
  async saveManifest(h: PathHash & { kind: 'dir' }): Promise<void> {
    const file = this.layout.manifestPath(h.hash);
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
    const text = await readTextOrNull(this.layout.manifestPath(hash));
    if (text === null) return null;
    const m = parseManifest(text);
    return m && manifestHash(m) === hash ? m : null;
  }

  /** true when every object needed to restore `r` is present (content is verified on restore). */
  async hasPath(r: StoredRef): Promise<boolean> {
    if (r.kind === 'file') return this.present(r.hash, r.size);
    const m = await this.loadManifest(r.hash);
    return m !== null && m.every((e) => this.present(e.hash, e.size));
  }

  /**
   * Copies object `hash` to `dst` and re-hashes the copy. A missing or
   * damaged object is deleted from the cache and reported as 'corrupt-cache'
   * naming the object and `shownAs` (the output path the user knows).
   */
  async copyOut(hash: Digest, size: number, dst: string, shownAs: string): Promise<Failure | undefined> {
    const obj = this.layout.objectPath(hash);
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
}
