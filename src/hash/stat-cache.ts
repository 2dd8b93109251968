/**
 * Remembers the digest of every file hashed, keyed by absolute path and
 * checked against (size, mtime, inode), so an unchanged file is only stat'ed,
 * never read again (git's index trick).
 *
 * Racy-clean guard (also from git): a file modified within the filesystem's
 * timestamp granularity after we hashed it would keep its size and mtime and
 * look unchanged. So an entry whose mtime is not safely older than the moment
 * it was hashed is not trusted: the file is hashed once more, and that second
 * entry (hashed later) is then trusted.
 */
import { readFile, writeFile, rename, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { isDigest, type Digest } from './digest.ts';
import { tempName } from './temp-name.ts';

/** The stat fields an entry is checked against (a subset of fs.Stats). */
export interface StatKey {
  size: number;
  mtimeMs: number;
  ino: number;
}

interface Entry {
  size: number;
  mtimeMs: number;
  ino: number;
  digest: Digest;
  /** Date.now() when the file was hashed, for the racy-clean guard. */
  hashedAt: number;
}

export interface StatCacheOptions {
  /**
   * An entry is only trusted when the file's mtime is at least this much older
   * than the moment it was hashed. 2 s covers coarse filesystems (FAT, some
   * network mounts) and small clock skew.
   */
  racyMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

// Version 2: files inside hashed folders moved to folder records (folder-records.ts);
// a version-1 file (mostly such entries) is dropped rather than carried along forever.
const HEADER = 'pipe-stat-cache 2';

export class StatCache {
  /**
   * Entries loaded from disk stay as their raw line until first looked up:
   * loading then costs one scan per line, so a no-op run over 100,000 files
   * does not pay to parse entries it never asks for.
   */
  private readonly entries: Map<string, Entry | string>;
  private dirty = false;
  private readonly racyMs: number;
  private readonly now: () => number;

  private constructor(
    readonly file: string,
    entries: Map<string, Entry | string>,
    opts: StatCacheOptions,
  ) {
    this.entries = entries;
    this.racyMs = opts.racyMs ?? 2000;
    this.now = opts.now ?? Date.now;
  }

  /** An empty cache that saves to `file`. */
  static empty(file: string, opts: StatCacheOptions = {}): StatCache {
    return new StatCache(file, new Map(), opts);
  }

  /**
   * Loads the cache; a missing, unreadable or corrupt file gives an empty
   * cache (the cost is rehashing, never a wrong answer). Format: a header
   * line, then one tab-separated line per file with the path last:
   * `digest size mtimeMs ino hashedAt path`; lines are parsed lazily.
   */
  static async load(file: string, opts: StatCacheOptions = {}): Promise<StatCache> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return StatCache.empty(file, opts);
    }
    const lines = text.split('\n');
    if (lines[0] !== HEADER) return StatCache.empty(file, opts);
    const entries = new Map<string, Entry | string>();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const at = pathStart(line);
      if (at > 0) entries.set(line.slice(at), line);
    }
    return new StatCache(file, entries, opts);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The digest recorded for `abs` if the file still has the same size, mtime and inode. */
  get(abs: string, st: StatKey): Digest | undefined {
    const e = this.entry(abs);
    if (!e || e.size !== st.size || e.mtimeMs !== st.mtimeMs || e.ino !== st.ino) return undefined;
    return this.trusted(e) ? e.digest : undefined;
  }

  private entry(abs: string): Entry | undefined {
    const raw = this.entries.get(abs);
    if (typeof raw !== 'string') return raw;
    const e = parseLine(raw);
    // A damaged line (e.g. a torn write by another tool) costs one rehash, not the whole cache.
    if (e) this.entries.set(abs, e);
    else this.entries.delete(abs);
    return e;
  }

  private trusted(e: Entry): boolean {
    return e.mtimeMs <= e.hashedAt - this.racyMs;
  }

  /**
   * Records the digest of `abs` as it was when `st` was taken. Pass the stat
   * taken BEFORE reading the file: if the file changes during the read, the
   * next stat differs and the file is hashed again.
   */
  set(abs: string, st: StatKey, digest: Digest): void {
    // Paths with a newline cannot be stored in the line format; they just stay uncached.
    if (abs.includes('\n')) return;
    const prev = this.entry(abs);
    if (
      prev &&
      prev.digest === digest &&
      prev.size === st.size &&
      prev.mtimeMs === st.mtimeMs &&
      prev.ino === st.ino &&
      this.trusted(prev)
    ) {
      return; // nothing new: keeps a no-op run from rewriting the file
    }
    this.entries.set(abs, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, digest, hashedAt: this.now() });
    this.dirty = true;
  }

  /** Forgets `abs` (e.g. after pipe deletes or replaces it). */
  delete(abs: string): void {
    if (this.entries.delete(abs)) this.dirty = true;
  }

  /** Drops entries for which `keep` is false (e.g. files that no longer exist). */
  prune(keep: (abs: string) => boolean): number {
    let n = 0;
    for (const k of [...this.entries.keys()]) {
      if (!keep(k)) {
        this.entries.delete(k);
        n++;
      }
    }
    if (n) this.dirty = true;
    return n;
  }

  /** Writes the cache if anything changed: temp file in the same folder, then rename. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    const parts: string[] = [HEADER, '\n'];
    for (const [abs, e] of this.entries) {
      if (typeof e === 'string') {
        parts.push(e, '\n'); // never looked at: written back as it was read
        continue;
      }
      parts.push(e.digest, '\t', String(e.size), '\t', String(e.mtimeMs), '\t', String(e.ino), '\t', String(e.hashedAt), '\t', abs, '\n');
    }
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = tempName(this.file);
    try {
      await writeFile(tmp, parts.join(''));
      await rename(tmp, this.file);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
    this.dirty = false;
  }
}

/** Index where the path starts (after the 5th tab), or -1 for a line without one. */
function pathStart(line: string): number {
  let at = 0;
  for (let k = 0; k < 5; k++) {
    const tab = line.indexOf('\t', at);
    if (tab < 0) return -1;
    at = tab + 1;
  }
  return at < line.length ? at : -1;
}

function parseLine(line: string): Entry | undefined {
  const f = line.split('\t', 5);
  const digest = f[0];
  const [size, mtimeMs, ino, hashedAt] = f.slice(1).map(Number) as [number, number, number, number];
  if (!isDigest(digest)) return undefined;
  if (![size, mtimeMs, ino, hashedAt].every((n) => Number.isFinite(n))) return undefined;
  return { digest, size, mtimeMs, ino, hashedAt };
}
