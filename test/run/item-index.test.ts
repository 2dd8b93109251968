import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ItemIndex } from '../../src/run/item-index.ts';
import { hashBytes, initHasher, type Digest } from '../../src/hash/digest.ts';
import type { ItemRecord } from '../../src/cache/records.ts';

let dir: string;
beforeAll(async () => {
  await initHasher();
  dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-item-index-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const rec = (name: string): ItemRecord => ({
  files: [{ path: `${name}.png`, hash: hashBytes(name) as Digest, size: name.length }],
  summary: { name },
  createdAt: '2026-11-25T00:00:00.000Z',
});

describe('ItemIndex', () => {
  it('starts empty, then gives back exactly the records of the last run', async () => {
    const first = ItemIndex.load(dir, 'deglare@dark');
    expect(first.get('k1')).toBeUndefined();
    first.add('k1', rec('a'));
    first.add('k2', rec('b'));
    await first.save('deglare@dark');

    const second = ItemIndex.load(dir, 'deglare@dark');
    expect(second.get('k1')).toEqual(rec('a'));
    expect(second.get('k2')).toEqual(rec('b'));
    expect(second.get('toString')).toBeUndefined(); // no prototype keys
    second.add('k2', rec('b'));
    await second.save('deglare@dark');
    // k1 was not part of the second run: it drops out.
    expect(ItemIndex.load(dir, 'deglare@dark').get('k1')).toBeUndefined();
    // Another stage has its own index.
    expect(ItemIndex.load(dir, 'deglare@bright').get('k2')).toBeUndefined();
  });

  it('a damaged index, or a damaged entry, is no index', async () => {
    const idx = ItemIndex.load(dir, 'convert');
    idx.add('good', rec('g'));
    await idx.save('convert');
    const [file] = (await readdir(path.join(dir, 'items'))).filter((f) => f.startsWith(hashBytes('convert')));
    const head = JSON.stringify({ v: 2, stage: 'convert' });
    await writeFile(path.join(dir, 'items', file!), [head, `good\t${JSON.stringify(rec('g'))}`, 'bad\t{"files":"nope"}', 'torn\t{"files":[{"pa', ''].join('\n'));
    const partly = ItemIndex.load(dir, 'convert');
    expect(partly.get('good')).toEqual(rec('g'));
    expect(partly.get('bad')).toBeUndefined();
    expect(partly.get('torn')).toBeUndefined();
    // A damaged line is not carried into the next index: the record added for that key is written instead.
    partly.add('torn', rec('t'));
    await partly.save('convert');
    expect(ItemIndex.load(dir, 'convert').get('torn')).toEqual(rec('t'));
    await writeFile(path.join(dir, 'items', file!), '{"v":2,"stage":"conv');
    expect(ItemIndex.load(dir, 'convert').get('good')).toBeUndefined();
    // The format before (one JSON document) reads as no index: the records are in the cache.
    await writeFile(path.join(dir, 'items', file!), JSON.stringify({ v: 1, stage: 'convert', items: { good: rec('g') } }));
    expect(ItemIndex.load(dir, 'convert').get('good')).toBeUndefined();
  });
});
