/**
 * Hashing a dep or out path: a file's content hash, or for a folder a Merkle
 * hash over its sorted manifest (relative path, content hash, size of every
 * file). Unchanged files cost one stat thanks to the StatCache.
 */
import { lstatSync, readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { SYNC_READ_MAX, hashBytes, hashFile, hashFileSync, initHasher, type Digest } from './digest.ts';
import type { StatCache } from './stat-cache.ts';
import { joinRels, recordFileHash, splitRels, type FolderRecord, type FolderRecords } from './folder-records.ts';
import { isTempName } from './temp-name.ts';
import { Slicer } from '../util/slicer.ts';

/** One file of a folder: path relative to the folder (POSIX separators), content hash, size. */
export interface ManifestEntry {
  path: string;
  hash: Digest;
  size: number;
}

export type PathHash =
  | { kind: 'file'; hash: Digest; size: number }
  | { kind: 'dir'; hash: Digest; size: number; files: number; manifest: ManifestEntry[] };

export interface HashPathOptions {
  statCache: StatCache;
  /** Per-folder records: the fast path for unchanged folders (see folder-records.ts). */
  records?: FolderRecords;
  /** Large files (> 256 KiB) read at once (default 16): bounds memory (1 MiB each) and open files. */
  concurrency?: number;
}

/** Code-unit order, the same on every machine and locale. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The Merkle hash of a folder: one canonical record of its sorted manifest,
 * `hashRecord({ dir: manifest.map((e) => [e.path, e.hash, e.size]) })`.
 * Spelled out here as that record's canonical encoding: building 100,000
 * small arrays to encode them cost half of it (a test checks both agree).
 */
export function manifestHash(manifest: ManifestEntry[]): Digest {
  let out = '{1:s3:dir[' + manifest.length + ':';
  for (const e of manifest) out += '[3:s' + e.path.length + ':' + e.path + 's' + e.hash.length + ':' + e.hash + 'd' + String(e.size) + ';]';
  return hashBytes(out + ']}');
}

function statOrNull(abs: string): Stats | null {
  try {
    return statSync(abs, { throwIfNoEntry: false }) ?? null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOENT: missing (or a dangling symlink); ENOTDIR: a parent is a file.
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * Stat of a path the listing saw as a regular file (not a symlink): lstat
 * gives the same answer, a little cheaper. Anything else now (replaced by a
 * folder or symlink mid-walk) counts as vanished.
 */
function fileStat(abs: string): Stats | null {
  try {
    const st = lstatSync(abs, { throwIfNoEntry: false });
    return st && st.isFile() ? st : null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * Called for each file of a walk, in walk order, with `st` when the walk
 * already stat'ed it (a followed symlink). Returning false stops the walk.
 */
type VisitFile = (abs: string, rel: string, st: Stats | undefined) => boolean;

/**
 * Walks the files under `root`, skipping pipe's temp names, following
 * symlinks unless they loop back to an ancestor folder. Visiting instead of
 * returning a list lets a no-op check keep nothing per file: on a 2-core
 * machine, garbage collection of 10,000 retained entries cost more than the
 * stats themselves. Resolves to false if `visit` stopped it.
 */
async function walkFiles(root: string, rootSt: Stats, slicer: Slicer, visit: VisitFile): Promise<boolean> {
  // Depth-first with an explicit stack; `ancestors` holds dev:ino of the folders above.
  const stack: { abs: string; rel: string; ancestors: Set<string> }[] = [
    { abs: root, rel: '', ancestors: new Set([`${rootSt.dev}:${rootSt.ino}`]) },
  ];
  for (let top = stack.pop(); top; top = stack.pop()) {
    await slicer.tick();
    let entries: Dirent[];
    try {
      entries = readdirSync(top.abs, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed during the walk
      throw e;
    }
    for (let k = 0; k < entries.length; k++) {
      if ((k & 255) === 255) await slicer.tick();
      const d = entries[k]!;
      if (isTempName(d.name)) continue;
      // Plain concatenation: both parts are already normal (path.join per file showed in profiles).
      const abs = top.abs + path.sep + d.name;
      const rel = top.rel ? `${top.rel}/${d.name}` : d.name;
      let isDir = d.isDirectory();
      let st: Stats | undefined;
      if (d.isFile()) {
        if (!visit(abs, rel, undefined)) return false;
        continue;
      }
      if (d.isSymbolicLink()) {
        st = statOrNull(abs) ?? undefined;
        if (!st) continue; // dangling
        if (st.isFile()) {
          if (!visit(abs, rel, st)) return false;
          continue;
        }
        isDir = st.isDirectory();
      }
      if (!isDir) continue; // socket, FIFO, device: never read those
      st ??= statOrNull(abs) ?? undefined;
      if (!st) continue;
      const id = `${st.dev}:${st.ino}`;
      if (top.ancestors.has(id)) continue; // a symlink back up the tree
      stack.push({ abs, rel, ancestors: new Set(top.ancestors).add(id) });
    }
  }
  return true;
}

/** A file the walk found that its folder's record did not vouch for. */
interface Found {
  abs: string;
  rel: string;
  /** Its stat, when the walk already took it; null if it vanished. */
  st: Stats | null | undefined;
}

/**
 * Walks the files under `abs`, checking them in order against the folder's
 * record `r`. While every file has the stat the record holds for it, nothing
 * is kept per file; from the first one that differs on, the walk lists the
 * files instead. Resolves to how many files matched in order before that (all
 * of them, and `rest` empty, when the folder is exactly as recorded), so one
 * walk serves both the unchanged folder and the changed one.
 *
 * A small file with its recorded stat but too recent for the record to vouch
 * for it (written just before that record's walk: say, the one item a rerun
 * processed) is read again; if its content is the recorded one it matches,
 * and `reread` is set: the record then holds for a newer walk.
 */
async function walkAgainstRecord(
  abs: string,
  st: Stats,
  slicer: Slicer,
  r: FolderRecord | undefined,
  records: FolderRecords | undefined,
  rest: Found[],
): Promise<{ prefix: number; reread: boolean }> {
  const n = r?.sizes.length ?? 0;
  let i = 0;
  let at = 0; // where file i's path starts in r.rels
  let reread = false;
  let matching = r !== undefined && records !== undefined;
  await walkFiles(abs, st, slicer, (fabs, rel, lst) => {
    if (!matching) {
      rest.push({ abs: fabs, rel, st: lst });
      return true;
    }
    const end = at + rel.length;
    let fst: Stats | null | undefined = lst;
    if (i < n && r!.rels.startsWith(rel, at) && (end === r!.rels.length || r!.rels.charCodeAt(end) === 0)) {
      fst ??= fileStat(fabs);
      if (fst && fst.size === r!.sizes[i] && fst.mtimeMs === r!.mtimes[i] && fst.ino === r!.inos[i]) {
        let same = records!.trusted(r!, fst.mtimeMs);
        if (!same && fst.size <= SYNC_READ_MAX && hashFileSync(fabs) === recordFileHash(r!, i)) same = reread = true;
        if (same) {
          i++;
          at = end + 1;
          return true;
        }
      }
    }
    matching = false;
    rest.push({ abs: fabs, rel, st: fst });
    return true;
  });
  return { prefix: i, reread };
}

/**
 * Hashes a file or folder; null when it does not exist. Folders are walked
 * fully: nothing is ignored except pipe's own temp names (`*.pipe-tmp*`).
 * Symlinks are followed (a symlinked folder is walked, unless it loops back
 * to one of its ancestors); dangling symlinks, sockets and FIFOs are skipped.
 * Empty folders add nothing to the hash (as in git).
 *
 * Speed: unchanged files cost one stat. With `records`, a folder whose every
 * file matches its record costs its stats and nothing else (see
 * folder-records.ts); otherwise each file is looked up in the record, then
 * the StatCache, and read only when neither knows it. Stats and small files
 * use synchronous calls in time slices: on a loaded 2-core machine each async
 * fs call costs a thread-pool round trip that dwarfs a small read. Large
 * files are streamed asynchronously, `concurrency` at a time.
 */
export async function hashPath(abs: string, opts: HashPathOptions): Promise<PathHash | null> {
  await initHasher();
  const cache = opts.statCache;
  const st = statOrNull(abs);
  if (!st) return null;
  if (!st.isDirectory()) {
    if (!st.isFile()) return null;
    let hash = cache.get(abs, st);
    if (!hash) {
      hash = st.size <= SYNC_READ_MAX ? hashFileSync(abs) : await hashFile(abs);
      cache.set(abs, st, hash);
    }
    return { kind: 'file', hash, size: st.size };
  }
  // Taken before the first stat: a record vouches only for files older than this (racy-clean guard).
  const walkStart = Date.now();
  const slicer = new Slicer();
  const records = opts.records;
  const old = records?.get(abs);
  const found: Found[] = [];
  const { prefix, reread } = await walkAgainstRecord(abs, st, slicer, old, records, found);
  // Fast path: the same files, in the same order, each with its recorded stat.
  if (old && records && found.length === 0 && prefix === old.sizes.length) {
    if (!reread) return dirFromRecord(old);
    // Every file checked since walkStart: the record now vouches as of then.
    const renewed = { ...old, at: walkStart };
    records.set(abs, renewed);
    return dirFromRecord(renewed);
  }

  // The first `prefix` files matched the record in order: their entries are the record's.
  const n = prefix + found.length;
  const rels: string[] = prefix ? splitRels(old!).slice(0, prefix) : [];
  // Numbers, not Stats objects, are kept per file (see walkFiles on garbage collection).
  const sizes = new Float64Array(n);
  const mtimes = new Float64Array(n);
  const inos = new Float64Array(n);
  const hashes: (Digest | undefined)[] = new Array(n);
  for (let i = 0; i < prefix; i++) {
    sizes[i] = old!.sizes[i]!;
    mtimes[i] = old!.mtimes[i]!;
    inos[i] = old!.inos[i]!;
    hashes[i] = recordFileHash(old!, i);
  }
  const limit = pLimit(opts.concurrency ?? 16);
  const big: Promise<void>[] = [];
  for (let k = 0; k < found.length; k++) {
    if ((k & 63) === 0) await slicer.tick();
    const f = found[k]!;
    const i = prefix + k;
    rels.push(f.rel);
    const fst = f.st === undefined ? fileStat(f.abs) : f.st;
    if (!fst || !fst.isFile()) continue; // vanished since the listing
    sizes[i] = fst.size;
    mtimes[i] = fst.mtimeMs;
    inos[i] = fst.ino;
    const known = (old && records?.lookup(old, f.rel, fst)) || cache.get(f.abs, fst);
    if (known) {
      hashes[i] = known;
    } else if (fst.size <= SYNC_READ_MAX) {
      hashes[i] = hashFileSync(f.abs);
      // With records, the folder's record remembers it; else keyed by the stat taken before reading.
      if (!records) cache.set(f.abs, fst, hashes[i]!);
    } else {
      big.push(
        limit(async () => {
          hashes[i] = await hashFile(f.abs);
          if (!records) cache.set(f.abs, fst, hashes[i]!);
        }),
      );
    }
  }
  await Promise.all(big);
  const manifest: ManifestEntry[] = [];
  const rec = { rels: [] as string[], sizes: [] as number[], mtimes: [] as number[], inos: [] as number[], hashes: '' };
  for (let i = 0; i < n; i++) {
    const hash = hashes[i];
    if (!hash) continue;
    const rel = rels[i]!;
    manifest.push({ path: rel, hash, size: sizes[i]! });
    rec.rels.push(rel);
    rec.sizes.push(sizes[i]!);
    rec.mtimes.push(mtimes[i]!);
    rec.inos.push(inos[i]!);
    rec.hashes += hash;
  }
  manifest.sort((a, b) => comparePaths(a.path, b.path));
  let size = 0;
  for (const e of manifest) size += e.size;
  const hash = manifestHash(manifest);
  if (records) records.set(abs, { ...rec, at: walkStart, hash, size, rels: joinRels(rec.rels) });
  return { kind: 'dir', hash, size, files: manifest.length, manifest };
}

/** A folder's hash from its record; the sorted manifest is built only if asked for. */
function dirFromRecord(r: FolderRecord): PathHash {
  let manifest: ManifestEntry[] | undefined;
  const h = { kind: 'dir' as const, hash: r.hash, size: r.size, files: r.sizes.length } as PathHash & { kind: 'dir' };
  Object.defineProperty(h, 'manifest', {
    enumerable: true,
    get(): ManifestEntry[] {
      manifest ??= splitRels(r)
        .map((p, i) => ({ path: p, hash: recordFileHash(r, i), size: r.sizes[i]! }))
        .sort((a, b) => comparePaths(a.path, b.path));
      return manifest;
    },
  });
  return h;
}

/** `m` in path order (itself when it already is, as stored manifests are). */
function byPath(m: ManifestEntry[]): ManifestEntry[] {
  for (let i = 1; i < m.length; i++) if (comparePaths(m[i - 1]!.path, m[i]!.path) > 0) return [...m].sort((a, b) => comparePaths(a.path, b.path));
  return m;
}

/**
 * What changed between two manifests of the same folder. One merge of the two
 * lists in path order: no map of 100,000 paths for a `pipe status` that names
 * one changed file.
 */
export function diffManifests(
  before: ManifestEntry[],
  after: ManifestEntry[],
): { added: string[]; removed: string[]; modified: string[] } {
  const a = byPath(before);
  const b = byPath(after);
  const added: string[] = [];
  const removed: string[] = [];
  const modified: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const c = i >= a.length ? 1 : j >= b.length ? -1 : comparePaths(a[i]!.path, b[j]!.path);
    if (c < 0) removed.push(a[i++]!.path);
    else if (c > 0) added.push(b[j++]!.path);
    else {
      if (a[i]!.hash !== b[j]!.hash) modified.push(b[j]!.path);
      i++;
      j++;
    }
  }
  return { added, removed, modified };
}
