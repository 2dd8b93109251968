/**
 * Hashes of repo paths, remembered for one command. Planning and running look
 * at the same folders several times (a stage's out is the next stage's dep;
 * `pipe run` plans before it executes); with 10,000 files each look is 10,000
 * stats. Entries under a path a stage has just written are forgotten.
 */
import path from 'node:path';
import type { PathHash } from '../hash/tree.ts';
import { hashPath } from '../hash/tree.ts';
import type { StatCache } from '../hash/stat-cache.ts';
import type { FolderRecords } from '../hash/folder-records.ts';
import { isWithin } from '../config/paths.ts';

export class HashMemo {
  private readonly memo = new Map<string, Promise<PathHash | null>>();

  constructor(
    private readonly root: string,
    private readonly statCache: StatCache,
    private readonly records: FolderRecords,
  ) {}

  /** Hash of a repo-relative path (null when missing). */
  get(rel: string): Promise<PathHash | null> {
    let p = this.memo.get(rel);
    if (!p) {
      p = hashPath(path.join(this.root, rel), { statCache: this.statCache, records: this.records });
      this.memo.set(rel, p);
    }
    return p;
  }

  /** Remembers the hash of `rel` as just written and hashed by pipe itself (call after invalidate). */
  set(rel: string, h: PathHash): void {
    this.memo.set(rel, Promise.resolve(h));
  }

  /** Forgets every path equal to, inside, or containing `rel`. */
  invalidate(rel: string): void {
    for (const k of [...this.memo.keys()]) if (isWithin(k, rel) || isWithin(rel, k)) this.memo.delete(k);
  }
}
