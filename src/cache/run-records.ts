/**
 * Run records (what a stage run produced, by stage key) and item records
 * (what one item of a per-item stage produced, by item key). Absent and
 * damaged records both read as null: a cache miss, never a wrong result.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDigest, type Digest } from '../hash/digest.ts';
import { writeFileAtomic } from './atomic.ts';
import { isMissing, readTextOrNull, readdirOrEmpty, type CacheLayout } from './layout.ts';
import { parseItemRecord, parseRunRecord, type ItemRecord, type RunRecord } from './records.ts';

export class RecordStore {
  constructor(readonly layout: CacheLayout) {}

  async putRun(key: Digest, rec: RunRecord): Promise<void> {
    await writeFileAtomic(this.layout.runPath(key), JSON.stringify(rec));
  }

  /** The run record for a stage key, or null if absent or damaged. */
  async getRun(key: Digest): Promise<RunRecord | null> {
    const text = await readTextOrNull(this.layout.runPath(key));
    return text === null ? null : parseRunRecord(text);
  }

  async putItem(key: Digest, rec: ItemRecord): Promise<void> {
    await writeFileAtomic(this.layout.itemPath(key), JSON.stringify(rec));
  }

  /**
   * The record of one processed item, or null if absent or damaged.
   * Synchronous: callers look up thousands of these small files (a per-item
   * stage, gc), where a thread-pool round trip per file costs more than the read.
   */
  getItemSync(key: Digest): ItemRecord | null {
    let text: string;
    try {
      text = readFileSync(this.layout.itemPath(key), 'utf8');
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
    return parseItemRecord(text);
  }

  /** Every run record key. */
  async runKeys(): Promise<Digest[]> {
    const keys: Digest[] = [];
    for (const d of await readdirOrEmpty(path.join(this.layout.dir, 'runs'))) {
      const key = d.name.slice(0, -'.json'.length);
      if (d.name.endsWith('.json') && isDigest(key)) keys.push(key);
    }
    return keys;
  }

  /** Every run record (key and creation time), for gc's keep-recent policy; damaged ones get createdAt ''. */
  async listRuns(): Promise<{ key: Digest; createdAt: string }[]> {
    const out: { key: Digest; createdAt: string }[] = [];
    for (const key of await this.runKeys()) out.push({ key, createdAt: (await this.getRun(key))?.createdAt ?? '' });
    return out;
  }

  /** Every item record (key and creation time); damaged ones get createdAt ''. */
  async listItems(): Promise<{ key: Digest; createdAt: string }[]> {
    return (await this.itemKeys()).map((key) => ({ key, createdAt: this.getItemSync(key)?.createdAt ?? '' }));
  }

  /** Every item record key. */
  async itemKeys(): Promise<Digest[]> {
    const keys: Digest[] = [];
    const root = path.join(this.layout.dir, 'items');
    for (const fan of await readdirOrEmpty(root)) {
      if (!fan.isDirectory()) continue;
      for (const d of await readdirOrEmpty(path.join(root, fan.name))) {
        const key = d.name.slice(0, -'.json'.length);
        if (d.name.endsWith('.json') && isDigest(key)) keys.push(key);
      }
    }
    return keys;
  }
}
