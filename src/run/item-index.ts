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
import { parseItemRecord } from '../cache/records.ts';
import { writeFileAtomic } from '../cache/atomic.ts';
import { hashBytes } from '../hash/digest.ts';

// Version 2: one line per item (`<key> TAB <record JSON>`) after a JSON header
// line, parsed only when looked up. Version 1 was one JSON document: parsing
// it built every record of 100,000 items at once (~100 MB), where a rerun
// after one changed input needs each of them for a moment only.
const VERSION = 2;

export class ItemIndex {
  /** This run's items: key -> record JSON. */
  private readonly next = new Map<string, string>();

  private constructor(
    private readonly file: string,
    /** The last run's items: key -> record JSON, unparsed. */
    private readonly last: Map<string, string>,
  ) {}

  /** The index of `stage` under `pipeDir` (empty if there is none yet). */
  static load(pipeDir: string, stage: string): ItemIndex {
    const file = path.join(pipeDir, 'items', `${hashBytes(stage)}.json`);
    const last = new Map<string, string>();
    try {
      const lines = readFileSync(file, 'utf8').split('\n');
      const head = JSON.parse(lines[0]!) as { v?: unknown; stage?: unknown };
      if (head.v === VERSION && head.stage === stage) {
        for (let i = 1; i < lines.length; i++) {
          const line = lines[i]!;
          const tab = line.indexOf('\t');
          if (tab > 0) last.set(line.slice(0, tab), line.slice(tab + 1));
        }
      }
    } catch {
      // none yet, or damaged: every lookup goes to the cache
    }
    return new ItemIndex(file, last);
  }

  /** The record of item `key` as the last run saw it, if it had this item (a damaged line counts as none). */
  get(key: string): ItemRecord | undefined {
    const raw = this.last.get(key);
    if (raw === undefined) return undefined;
    const rec = parseItemRecord(raw);
    if (!rec) this.last.delete(key); // so add() does not keep the damaged line
    return rec ?? undefined;
  }

  /** Remembers the record of an item of this run. */
  add(key: string, rec: ItemRecord): void {
    // Records never change for a key: the last run's line, when there is one, is this record.
    this.next.set(key, this.last.get(key) ?? JSON.stringify(rec));
  }

  /** Writes this run's items (and only them: items no longer in the input drop out). */
  async save(stage: string): Promise<void> {
    const parts = [JSON.stringify({ v: VERSION, stage })];
    for (const [key, raw] of this.next) parts.push(`${key}\t${raw}`);
    await writeFileAtomic(this.file, parts.join('\n') + '\n');
  }
}
