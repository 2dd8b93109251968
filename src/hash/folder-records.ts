/**
 * Folder records: for every folder pipe hashed, the (path, size, mtime, inode,
 * hash) of each file and the folder's Merkle hash, one small JSON file per
 * folder under `.pipe/folders/`.
 *
 * Why: with only the per-file StatCache, a no-op over a 10,000-file folder
 * still parses 10,000 cache entries, builds and sorts a 10,000-entry manifest
 * and hashes its encoding — several times the cost of the 10,000 stats that
 * are the real minimum. With a record, when every file's stat matches it, the
 * folder's hash is simply the recorded one and the manifest is built only if
 * someone asks for it (a diff). When something differs, the record still
 * serves as the per-file cache for the unchanged files.
 *
 * The racy-clean guard is the StatCache's (git's): a record only vouches for
 * files whose mtime is safely older than the moment their folder walk began.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hashBytes, isDigest, type Digest } from './digest.ts';
import type { StatKey } from './stat-cache.ts';
import { tempName } from './temp-name.ts';

/** What pipe saw in one folder, files in the order the walk found them. */
export interface FolderRecord {
  /** Date.now() when the walk that produced the record started. */
  at: number;
  hash: Digest;
  size: number;
  /**
   * The files' paths relative to the folder, joined by NUL (the one character
   * no file name holds): one string to parse and keep instead of 10,000.
   */
  rels: string;
  sizes: number[];
  mtimes: number[];
  inos: number[];
  /** The files' digests, 16 hex characters each, concatenated (one string instead of 10,000). */
  hashes: string;
}

export interface FolderRecordsOptions {
  /** See StatCacheOptions.racyMs (default 2 s). */
  racyMs?: number;
}

const VERSION = 1;

/** Paths for FolderRecord.rels. */
export function joinRels(rels: string[]): string {
  return rels.join('\0');
}

/** The paths of a record's files, in its order. */
export function splitRels(r: FolderRecord): string[] {
  return r.sizes.length ? r.rels.split('\0') : [];
}

/** The hash of file `i` of a record. */
export function recordFileHash(r: FolderRecord, i: number): Digest {
  return r.hashes.slice(i * 16, i * 16 + 16) as Digest;
}

function isRecord(v: unknown): v is FolderRecord & { v: number; path: string } {
  if (!v || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  const n = Array.isArray(r.sizes) ? r.sizes.length : -1;
  return (
    r.v === VERSION &&
    typeof r.rels === 'string' &&
    typeof r.at === 'number' &&
    isDigest(r.hash) &&
    typeof r.size === 'number' &&
    n >= 0 &&
    Array.isArray(r.mtimes) &&
    r.mtimes.length === n &&
    Array.isArray(r.inos) &&
    r.inos.length === n &&
    typeof r.hashes === 'string' &&
    r.hashes.length === n * 16
  );
}

export class FolderRecords {
  private readonly loaded = new Map<string, FolderRecord | null>();
  private readonly dirty = new Set<string>();
  private readonly byRel = new WeakMap<FolderRecord, Map<string, number>>();
  readonly racyMs: number;

  /** `dir` null: records live in memory only (scratch folders of one run). */
  constructor(private readonly dir: string | null, opts: FolderRecordsOptions = {}) {
    this.racyMs = opts.racyMs ?? 2000;
  }

  private fileOf(abs: string): string {
    return path.join(this.dir!, `${hashBytes(abs)}.json`);
  }

  /** The record of folder `abs`, if any (read on first use; a damaged file counts as none). */
  get(abs: string): FolderRecord | undefined {
    let r = this.loaded.get(abs);
    if (r === undefined) {
      r = null;
      if (this.dir) {
        try {
          const v: unknown = JSON.parse(readFileSync(this.fileOf(abs), 'utf8'));
          // The file name is a hash of the path: check it is really this folder's.
          if (isRecord(v) && v.path === abs) r = v;
        } catch {
          // missing or damaged: the cost is one slow walk, never a wrong answer
        }
      }
      this.loaded.set(abs, r);
    }
    return r ?? undefined;
  }

  set(abs: string, r: FolderRecord): void {
    this.loaded.set(abs, r);
    this.dirty.add(abs);
  }

  /** Forgets the record of `abs` (its files are about to be replaced). */
  delete(abs: string): void {
    this.loaded.set(abs, null);
    this.dirty.add(abs);
  }

  /** A file's mtime is old enough, next to when its walk began, to trust its stat. */
  trusted(r: FolderRecord, mtimeMs: number): boolean {
    return mtimeMs <= r.at - this.racyMs;
  }

  /** The recorded hash of file `rel` of folder `abs`, if its stat still matches and is trusted. */
  fileHash(abs: string, rel: string, st: StatKey): Digest | undefined {
    const r = this.get(abs);
    return r ? this.lookup(r, rel, st) : undefined;
  }

  /** fileHash against a record already in hand. */
  lookup(r: FolderRecord, rel: string, st: StatKey): Digest | undefined {
    let index = this.byRel.get(r);
    if (!index) {
      index = new Map(splitRels(r).map((p, i) => [p, i]));
      this.byRel.set(r, index);
    }
    const i = index.get(rel);
    if (i === undefined) return undefined;
    if (r.sizes[i] !== st.size || r.mtimes[i] !== st.mtimeMs || r.inos[i] !== st.ino || !this.trusted(r, st.mtimeMs)) return undefined;
    return recordFileHash(r, i);
  }

  /**
   * Removes the records of folders for which `keep` is false (say, folders
   * that no longer exist: `pipe gc`), and damaged record files. Returns how
   * many were (or with dryRun, would be) removed.
   */
  async prune(keep: (abs: string) => boolean, o: { dryRun: boolean }): Promise<number> {
    if (!this.dir) return 0;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    let n = 0;
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const file = path.join(this.dir, name);
      let folder: string | undefined;
      try {
        const v: unknown = JSON.parse(await readFile(file, 'utf8'));
        if (isRecord(v) && file === this.fileOf(v.path)) folder = v.path;
      } catch {
        // damaged: removed below
      }
      if (folder !== undefined && keep(folder)) continue;
      n++;
      if (!o.dryRun) await unlink(file).catch(() => {});
    }
    return n;
  }

  /** Writes the records that changed: each to a temp file in the same folder, then renamed. */
  async save(): Promise<void> {
    if (!this.dir || this.dirty.size === 0) return;
    await mkdir(this.dir, { recursive: true });
    for (const abs of this.dirty) {
      const file = this.fileOf(abs);
      const r = this.loaded.get(abs);
      if (!r) {
        await unlink(file).catch(() => {});
        continue;
      }
      const tmp = tempName(file);
      try {
        await writeFile(tmp, JSON.stringify({ v: VERSION, path: abs, ...r }));
        await rename(tmp, file);
      } catch (e) {
        await unlink(tmp).catch(() => {});
        throw e;
      }
    }
    this.dirty.clear();
  }
}
