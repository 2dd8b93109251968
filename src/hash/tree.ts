/**
 * Hashing a dep or out path: a file's content hash, or for a folder a Merkle
 * hash over its sorted manifest (relative path, content hash, size of every
 * file). Unchanged files cost one stat thanks to the StatCache.
 */
import { readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { SYNC_READ_MAX, hashFile, hashFileSync, hashRecord, initHasher, type Digest } from './digest.ts';
import type { StatCache } from './stat-cache.ts';
import { isTempName } from './temp-name.ts';

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
  /** Large files (> 256 KiB) read at once (default 16): bounds memory (1 MiB each) and open files. */
  concurrency?: number;
}

/** Code-unit order, the same on every machine and locale. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The Merkle hash of a folder: one canonical record of its sorted manifest. */
export function manifestHash(manifest: ManifestEntry[]): Digest {
  return hashRecord({ dir: manifest.map((e) => [e.path, e.hash, e.size]) });
}

function statOrNull(abs: string): Stats | null {
  try {
    return statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOENT: missing (or a dangling symlink); ENOTDIR: a parent is a file.
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/** Longest stretch the synchronous loops block the event loop before yielding. */
const SLICE_MS = 8;

/**
 * Runs synchronous fs work in slices, yielding to the event loop between
 * them, so a walk over 100,000 files never freezes the progress display.
 */
class Slicer {
  private start = performance.now();
  async tick(): Promise<void> {
    if (performance.now() - this.start < SLICE_MS) return;
    await new Promise<void>((r) => setImmediate(r));
    this.start = performance.now();
  }
}

interface Found {
  abs: string;
  rel: string;
  /** Already stat'ed (a followed symlink). */
  st?: Stats;
}

/**
 * Lists the files under `root`, skipping pipe's temp names, following
 * symlinks unless they loop back to an ancestor folder.
 */
async function listFiles(root: string, rootSt: Stats, slicer: Slicer): Promise<Found[]> {
  const found: Found[] = [];
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
    for (const d of entries) {
      if (isTempName(d.name)) continue;
      const abs = path.join(top.abs, d.name);
      const rel = top.rel ? `${top.rel}/${d.name}` : d.name;
      let isDir = d.isDirectory();
      let st: Stats | undefined;
      if (d.isFile()) {
        found.push({ abs, rel });
        continue;
      }
      if (d.isSymbolicLink()) {
        st = statOrNull(abs) ?? undefined;
        if (!st) continue; // dangling
        if (st.isFile()) {
          found.push({ abs, rel, st });
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
  return found;
}

/**
 * Hashes a file or folder; null when it does not exist. Folders are walked
 * fully: nothing is ignored except pipe's own temp names (`*.pipe-tmp*`).
 * Symlinks are followed (a symlinked folder is walked, unless it loops back
 * to one of its ancestors); dangling symlinks, sockets and FIFOs are skipped.
 * Empty folders add nothing to the hash (as in git).
 *
 * Speed: unchanged files cost one stat (StatCache). Stats and small files use
 * synchronous calls in time slices: on a loaded 2-core machine each async fs
 * call costs a thread-pool round trip that dwarfs a small read. Large files
 * are streamed asynchronously, `concurrency` at a time.
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
  const slicer = new Slicer();
  const found = await listFiles(abs, st, slicer);
  const limit = pLimit(opts.concurrency ?? 16);
  const manifest: ManifestEntry[] = [];
  const big: Promise<void>[] = [];
  for (const f of found) {
    await slicer.tick();
    const fst = f.st ?? statOrNull(f.abs);
    if (!fst || !fst.isFile()) continue; // vanished since the listing
    const cached = cache.get(f.abs, fst);
    if (cached) {
      manifest.push({ path: f.rel, hash: cached, size: fst.size });
    } else if (fst.size <= SYNC_READ_MAX) {
      const hash = hashFileSync(f.abs);
      // Keyed by the stat taken before reading: a change during the read shows up next time.
      cache.set(f.abs, fst, hash);
      manifest.push({ path: f.rel, hash, size: fst.size });
    } else {
      big.push(
        limit(async () => {
          const hash = await hashFile(f.abs);
          cache.set(f.abs, fst, hash);
          manifest.push({ path: f.rel, hash, size: fst.size });
        }),
      );
    }
  }
  await Promise.all(big);
  manifest.sort((a, b) => comparePaths(a.path, b.path));
  let size = 0;
  for (const e of manifest) size += e.size;
  return { kind: 'dir', hash: manifestHash(manifest), size, files: manifest.length, manifest };
}

/** What changed between two manifests of the same folder, each list sorted. */
export function diffManifests(
  before: ManifestEntry[],
  after: ManifestEntry[],
): { added: string[]; removed: string[]; modified: string[] } {
  const old = new Map(before.map((e) => [e.path, e.hash]));
  const added: string[] = [];
  const modified: string[] = [];
  for (const e of after) {
    const h = old.get(e.path);
    if (h === undefined) added.push(e.path);
    else if (h !== e.hash) modified.push(e.path);
    old.delete(e.path);
  }
  const removed = [...old.keys()];
  added.sort(comparePaths);
  modified.sort(comparePaths);
  removed.sort(comparePaths);
  return { added, removed, modified };
}
