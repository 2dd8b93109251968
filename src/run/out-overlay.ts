/**
 * The output folder of a per-item stage (`map.out`), updated in place.
 *
 * Why: when one input of 100,000 changed, building a complete new output
 * folder (a hard link per unchanged file), then hashing, storing and swapping
 * it in, and deleting the old one, cost ~8x a no-op and held every file's
 * entry in memory several times over. Here the run starts from the folder as
 * it was hashed moments ago (its folder record), keeps the files of every
 * item whose recorded outputs are all there with the right content, and the
 * temp folder receives only what is new (processed items, items restored from
 * the cache, what `reduce` writes). Committing renames those new files in and
 * deletes the files no item of this run claims (a removed input's outputs,
 * stale aggregates, strays), so the folder ends up exactly as a clean run
 * would leave it, at a cost that grows with what changed plus one pass over
 * the record.
 *
 * Safety: nothing in the folder is touched until every item and `reduce` have
 * succeeded and the new files are in the cache; a failed or interrupted stage
 * leaves it as it was. Each file is replaced by a rename (never half written).
 * A SIGKILL in the middle of the commit, which lasts as long as the renames
 * and deletions of the changed files, can leave some files old and some new:
 * the lock still holds the old entry, the folder's hash no longer matches it,
 * and the next run checks every item against the folder again and repairs
 * it. When nothing of the old folder is kept (first run, all items changed,
 * folder missing) the whole temp folder is swapped in as before.
 */
import { mkdirSync, renameSync, rmdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { Digest } from '../hash/digest.ts';
import { recordFileHash, splitRels, type FolderRecord } from '../hash/folder-records.ts';
import { comparePaths, manifestHash, type ManifestEntry, type PathHash } from '../hash/tree.ts';
import type { Slicer } from '../util/slicer.ts';

export class OutOverlay {
  /** Which files of the record this run keeps (1) or leaves to be replaced or deleted (0). */
  private readonly keeps: Uint8Array;
  private readonly index: Map<string, number>;
  private keptFiles = 0;

  /**
   * @param finalAbs the output folder.
   * @param record its folder record, taken when it was hashed for this run's
   *   plan (so it describes the folder as it is now), or undefined when the
   *   folder is missing.
   */
  constructor(
    readonly finalAbs: string,
    private readonly record: FolderRecord | undefined,
  ) {
    const rels = record ? splitRels(record) : [];
    this.index = new Map(rels.map((p, i) => [p, i]));
    this.keeps = new Uint8Array(rels.length);
  }

  /** Files of the old folder kept as they are. */
  get kept(): number {
    return this.keptFiles;
  }

  /**
   * Keeps an item's files when every one of them is in the folder with the
   * content its record names (by the folder record: no file is read or even
   * stat'ed again). Returns false, keeping nothing, when any is missing or differs.
   */
  keep(files: ManifestEntry[]): boolean {
    const r = this.record;
    if (!r) return files.length === 0;
    for (const f of files) {
      const i = this.index.get(f.path);
      if (i === undefined || recordFileHash(r, i) !== f.hash || r.sizes[i] !== f.size) return false;
    }
    for (const f of files) {
      const i = this.index.get(f.path)!;
      if (!this.keeps[i]) this.keptFiles++;
      this.keeps[i] = 1;
    }
    return true;
  }

  /** Whether `rel` is a file kept from the old folder (a new item may not write it too). */
  isKept(rel: string): boolean {
    const i = this.index.get(rel);
    return i !== undefined && this.keeps[i] === 1;
  }

  /**
   * The folder as it will be once the new files (in the temp folder, hashed
   * as `fresh` with its folder record `freshRecord`) replace or join the kept
   * ones and every old file not kept is gone: its hash, its folder record, and
   * the old files to delete. Changes nothing on disk. Only for a folder with
   * kept files.
   */
  merge(fresh: PathHash & { kind: 'dir' }, freshRecord: FolderRecord): Merged {
    const old = this.record!;
    const incoming = new Map(splitRels(freshRecord).map((p, i) => [p, i]));
    // The new record lists files in the old record's order, where a replaced
    // file keeps its place (the folder listing usually does too, so the next
    // look stays on the fast path), and added files last.
    const rels: string[] = [];
    const sizes: number[] = [];
    const mtimes: number[] = [];
    const inos: number[] = [];
    let hashes = '';
    const push = (r: FolderRecord, i: number, rel: string) => {
      rels.push(rel);
      sizes.push(r.sizes[i]!);
      mtimes.push(r.mtimes[i]!);
      inos.push(r.inos[i]!);
      hashes += recordFileHash(r, i);
    };
    const gone: string[] = [];
    const oldRels = splitRels(old);
    for (let i = 0; i < oldRels.length; i++) {
      const rel = oldRels[i]!;
      const j = incoming.get(rel);
      if (j !== undefined) {
        push(freshRecord, j, rel);
        incoming.delete(rel);
      } else if (this.keeps[i]) push(old, i, rel);
      else gone.push(rel);
    }
    for (const [rel, j] of incoming) push(freshRecord, j, rel);

    const manifest: ManifestEntry[] = rels.map((p, i) => ({ path: p, hash: hashes.slice(i * 16, i * 16 + 16) as Digest, size: sizes[i]! }));
    manifest.sort((a, b) => comparePaths(a.path, b.path));
    let size = 0;
    for (const s of sizes) size += s;
    const hash = manifestHash(manifest);
    // The old record's time: it vouches for the kept files as before, and the
    // new ones (written after it) are checked again on the next look.
    const record: FolderRecord = { at: Math.min(old.at, freshRecord.at), hash, size, rels: rels.join('\0'), sizes, mtimes, inos, hashes };
    return { hash: { kind: 'dir', hash, size, files: manifest.length, manifest }, record, fresh, gone };
  }

  /**
   * Makes the folder what `merge` described: deletes the old files not kept,
   * then renames the new files in from `tempAbs`.
   */
  async apply(tempAbs: string, m: Merged, slicer: Slicer): Promise<void> {
    const { gone, fresh } = m;
    // Apply: deletions first (an old file may stand where a new folder goes,
    // or the reverse), then the new files, each a rename: whole or absent.
    const emptied = new Set<string>();
    for (const rel of gone) {
      await slicer.tick();
      try {
        unlinkSync(path.join(this.finalAbs, ...rel.split('/')));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      for (let k = rel.lastIndexOf('/'); k > 0; k = rel.lastIndexOf('/', k - 1)) emptied.add(rel.slice(0, k));
    }
    // A clean run has no folder that only held deleted files: remove those, deepest first.
    for (const d of [...emptied].sort((a, b) => b.length - a.length)) {
      try {
        rmdirSync(path.join(this.finalAbs, ...d.split('/')));
      } catch {
        // not empty (or gone): kept
      }
    }
    const made = new Set<string>();
    for (const e of fresh.manifest) {
      await slicer.tick();
      const dest = path.join(this.finalAbs, ...e.path.split('/'));
      const dir = path.dirname(dest);
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      renameSync(path.join(tempAbs, ...e.path.split('/')), dest);
    }
  }
}

export interface Merged {
  hash: PathHash & { kind: 'dir' };
  record: FolderRecord;
  fresh: PathHash & { kind: 'dir' };
  gone: string[];
}
