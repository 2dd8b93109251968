/**
 * The item records a per-item stage used in its last run, in one file per
 * stage (`.pipe/items/<hash of the stage name>.json`).
 *
 * Why: item records live in the cache one file each (content-addressed by
 * item key, so any stage and any run can share them). A rerun after one
 * changed image of 1,000 would read 999 of those small files, a fifth of
 * its time here; this index answers the same lookups from one read. It only
 * remembers records, which never change for a key, so a stale index can cost
 * a lookup in the cache but never give a wrong answer; a missing or damaged
 * one is simply empty.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ItemRecord } from '../cache/records.ts';
import { itemRecordFrom } from '../cache/records.ts';
import { writeFileAtomic } from '../cache/atomic.ts';
import { hashBytes } from '../hash/digest.ts';

const VERSION = 1;

export class ItemIndex {
  private readonly next = new Map<string, ItemRecord>();

  private constructor(
    private readonly file: string,
    private readonly last: Record<string, unknown>,
  ) {}

  /** The index of `stage` under `pipeDir` (empty if there is none yet). */
  static load(pipeDir: string, stage: string): ItemIndex {
    const file = path.join(pipeDir, 'items', `${hashBytes(stage)}.json`);
    let last: Record<string, unknown> = {};
    try {
      const j = JSON.parse(readFileSync(file, 'utf8')) as { v?: unknown; stage?: unknown; items?: unknown };
      if (j.v === VERSION && j.stage === stage && j.items && typeof j.items === 'object') last = j.items as Record<string, unknown>;
    } catch {
      // none yet, or damaged: every lookup goes to the cache
    }
    return new ItemIndex(file, last);
  }

  /** The record of item `key` as the last run saw it, if it had this item. */
  get(key: string): ItemRecord | undefined {
    const j = Object.hasOwn(this.last, key) ? this.last[key] : undefined;
    return (j !== undefined && itemRecordFrom(j)) || undefined;
  }

  /** Remembers the record of an item of this run. */
  add(key: string, rec: ItemRecord): void {
    this.next.set(key, rec);
  }

  /** Writes this run's items (and only them: items no longer in the input drop out). */
  async save(stage: string): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify({ v: VERSION, stage, items: Object.fromEntries(this.next) }));
  }
}
