import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StatCache } from '../../src/hash/stat-cache.ts';
import { hashBytes, initHasher, type Digest } from '../../src/hash/digest.ts';

let dir: string;
beforeAll(async () => {
  await initHasher();
  dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-statcache-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const OLD = 1_600_000_000_000; // an mtime long before "now"
const st = (over: Partial<{ size: number; mtimeMs: number; ino: number }> = {}) => ({ size: 10, mtimeMs: OLD + 0.123456, ino: 42, ...over });
const d = (s: string): Digest => hashBytes(s);

describe('StatCache', () => {
  it('hits only when size, mtime and inode all match', () => {
    const c = StatCache.empty(path.join(dir, 'a'));
    expect(c.get('/x', st())).toBeUndefined();
    c.set('/x', st(), d('x'));
    expect(c.get('/x', st())).toBe(d('x'));
    expect(c.get('/x', st({ size: 11 }))).toBeUndefined();
    expect(c.get('/x', st({ mtimeMs: OLD + 0.124 }))).toBeUndefined();
    expect(c.get('/x', st({ ino: 43 }))).toBeUndefined();
    expect(c.get('/y', st())).toBeUndefined();
  });

  it('does not trust a file modified just before it was hashed (racy clean), until hashed again later', () => {
    let now = 1_700_000_000_000;
    const c = StatCache.empty(path.join(dir, 'racy'), { now: () => now });
    const fresh = st({ mtimeMs: now - 5 });
    c.set('/r', fresh, d('r'));
    expect(c.get('/r', fresh)).toBeUndefined(); // could have changed within the same timestamp tick
    now += 10_000;
    c.set('/r', fresh, d('r')); // the caller rehashed it: now it is safely older
    expect(c.get('/r', fresh)).toBe(d('r'));
  });

  it('persists across save and load, with paths holding tabs and spaces', async () => {
    const file = path.join(dir, 'persist', 'stat-cache');
    const c = StatCache.empty(file);
    c.set('/data/a b\tc.png', st(), d('1'));
    for (let i = 0; i < 100; i++) c.set(`/data/f${i}`, st({ ino: i }), d(String(i)));
    await c.save();
    const l = await StatCache.load(file);
    expect(l.size).toBe(101);
    expect(l.get('/data/a b\tc.png', st())).toBe(d('1'));
    expect(l.get('/data/f7', st({ ino: 7 }))).toBe(d('7'));
    expect(l.get('/data/f7', st({ ino: 8 }))).toBeUndefined();
  });

  it('saves only when something changed', async () => {
    const file = path.join(dir, 'dirty');
    const c = StatCache.empty(file);
    await c.save();
    expect(existsSync(file)).toBe(false);
    c.set('/a', st(), d('a'));
    await c.save();
    const first = await stat(file);
    await rm(file);
    c.set('/a', st(), d('a')); // same entry again: nothing new
    await c.save();
    expect(existsSync(file)).toBe(false);
    expect(first.size).toBeGreaterThan(0);
  });

  it('leaves no temp file behind after saving', async () => {
    const sub = await mkdtemp(path.join(dir, 'tmpcheck-'));
    const c = StatCache.empty(path.join(sub, 'sc'));
    c.set('/a', st(), d('a'));
    await c.save();
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(sub)).toEqual(['sc']);
  });

  it('treats a missing or corrupt file as empty, and skips damaged lines', async () => {
    expect((await StatCache.load(path.join(dir, 'missing'))).size).toBe(0);
    const bad = path.join(dir, 'bad');
    await writeFile(bad, '\0\0garbage{');
    expect((await StatCache.load(bad)).size).toBe(0);

    const file = path.join(dir, 'partial');
    const c = StatCache.empty(file);
    c.set('/a', st(), d('a'));
    c.set('/b', st(), d('b'));
    await c.save();
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace(d('a'), 'zz-not-a-digest!'));
    const l = await StatCache.load(file);
    expect(l.get('/a', st())).toBeUndefined();
    expect(l.get('/b', st())).toBe(d('b'));
  });

  it('round-trips 10,000 entries', async () => {
    const file = path.join(dir, 'big');
    const c = StatCache.empty(file);
    for (let i = 0; i < 10_000; i++) c.set(`/repo/data/images/img_${i}.png`, st({ ino: i, size: i }), d(String(i)));
    await c.save();
    const l = await StatCache.load(file);
    expect(l.size).toBe(10_000);
    expect(l.get('/repo/data/images/img_9999.png', st({ ino: 9999, size: 9999 }))).toBe(d('9999'));
  });

  it('forgets and prunes entries', () => {
    const c = StatCache.empty(path.join(dir, 'p'));
    c.set('/keep', st(), d('k'));
    c.set('/gone', st(), d('g'));
    c.set('/del', st(), d('d'));
    c.delete('/del');
    expect(c.prune((p) => p !== '/gone')).toBe(1);
    expect(c.get('/keep', st())).toBe(d('k'));
    expect(c.get('/gone', st())).toBeUndefined();
    expect(c.get('/del', st())).toBeUndefined();
  });
});
