import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, symlink, writeFile, cp, rename } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { diffManifests, hashPath, manifestHash, type ManifestEntry } from '../../src/hash/tree.ts';
import { StatCache } from '../../src/hash/stat-cache.ts';
import { hashBytes, hashRecord, hashStats, initHasher, resetHashStats, type Digest } from '../../src/hash/digest.ts';

let root: string;
beforeAll(async () => {
  await initHasher();
  root = await mkdtemp(path.join(os.tmpdir(), 'pipe-tree-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A stat cache whose clock runs 10 s ahead, so files just written count as safely old. */
const laterCache = (name: string) => StatCache.empty(path.join(root, name), { now: () => Date.now() + 10_000 });
const fresh = () => StatCache.empty(path.join(root, 'unused'));

async function makeTree(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const f = path.join(dir, rel);
    await mkdir(path.dirname(f), { recursive: true });
    await writeFile(f, content);
  }
}

describe('hashPath', () => {
  it('returns null for a missing path', async () => {
    expect(await hashPath(path.join(root, 'nope'), { statCache: fresh() })).toBeNull();
    expect(await hashPath(path.join(root, 'nope', 'deeper'), { statCache: fresh() })).toBeNull();
  });

  it('hashes a file by content, small or large', async () => {
    const small = path.join(root, 'small.txt');
    const big = path.join(root, 'big.bin');
    const bigData = randomBytes(3 * 1024 * 1024 + 5);
    await writeFile(small, 'hello');
    await writeFile(big, bigData);
    expect(await hashPath(small, { statCache: fresh() })).toEqual({ kind: 'file', hash: hashBytes('hello'), size: 5 });
    expect(await hashPath(big, { statCache: fresh() })).toEqual({ kind: 'file', hash: hashBytes(bigData), size: bigData.length });
  });

  it('builds a sorted POSIX manifest of a nested folder', async () => {
    const dir = path.join(root, 'nested');
    const big = randomBytes(600 * 1024);
    await makeTree(dir, { 'b.txt': 'B', 'a/z.txt': 'Z', 'a/b/c.txt': 'C', 'a.txt': 'A', 'big/x.bin': big });
    await mkdir(path.join(dir, 'empty'), { recursive: true });
    const h = await hashPath(dir, { statCache: fresh() });
    if (h?.kind !== 'dir') throw new Error('expected a dir');
    expect(h.manifest).toEqual([
      { path: 'a.txt', hash: hashBytes('A'), size: 1 },
      { path: 'a/b/c.txt', hash: hashBytes('C'), size: 1 },
      { path: 'a/z.txt', hash: hashBytes('Z'), size: 1 },
      { path: 'b.txt', hash: hashBytes('B'), size: 1 },
      { path: 'big/x.bin', hash: hashBytes(big), size: big.length },
    ]);
    expect(h.files).toBe(5);
    expect(h.size).toBe(4 + big.length);
  });

  it('gives equal hashes for equal content anywhere, and different ones for any change', async () => {
    const one = path.join(root, 'one');
    await makeTree(one, { 'x/1.txt': '1', 'x/2.txt': '2', 'y.txt': 'y' });
    const two = path.join(root, 'two');
    await cp(one, two, { recursive: true });
    await mkdir(path.join(two, 'an-empty-folder')); // empty folders do not count
    const h1 = (await hashPath(one, { statCache: fresh() }))!;
    const h2 = (await hashPath(two, { statCache: fresh() }))!;
    expect(h2.hash).toBe(h1.hash);

    await writeFile(path.join(two, 'x/2.txt'), '3'); // same size, new content
    const changed = (await hashPath(two, { statCache: fresh() }))!;
    expect(changed.hash).not.toBe(h1.hash);

    await writeFile(path.join(two, 'x/2.txt'), '2');
    await rename(path.join(two, 'y.txt'), path.join(two, 'z.txt')); // renamed only
    expect((await hashPath(two, { statCache: fresh() }))!.hash).not.toBe(h1.hash);
  });

  it('ignores pipe temp names and nothing else', async () => {
    const dir = path.join(root, 'temps');
    await makeTree(dir, { 'a.txt': 'a', '.hidden': 'h', 'a.txt.pipe-tmp-123-abc': 'half', 'sub.pipe-tmp-9-x/f': 'f' });
    const h = await hashPath(dir, { statCache: fresh() });
    if (h?.kind !== 'dir') throw new Error('expected a dir');
    expect(h.manifest.map((e) => e.path)).toEqual(['.hidden', 'a.txt']);
  });

  it('follows symlinks to files and folders, and stops at loops', async () => {
    const dir = path.join(root, 'links');
    await makeTree(dir, { 'real/f.txt': 'F', 'target.txt': 'T' });
    await symlink(path.join(dir, 'target.txt'), path.join(dir, 'link.txt'));
    await symlink(path.join(dir, 'real'), path.join(dir, 'linkdir'));
    await symlink(dir, path.join(dir, 'real', 'loop')); // points back up
    await symlink(path.join(dir, 'missing'), path.join(dir, 'dangling'));
    const h = await hashPath(dir, { statCache: fresh() });
    if (h?.kind !== 'dir') throw new Error('expected a dir');
    const paths = h.manifest.map((e) => e.path);
    expect(paths).toContain('link.txt');
    expect(paths).toContain('linkdir/f.txt');
    expect(paths).toContain('real/f.txt');
    expect(paths).not.toContain('dangling');
    expect(h.manifest.find((e) => e.path === 'link.txt')!.hash).toBe(hashBytes('T'));
  });

  it('only stats unchanged files: a no-op over 10,000 files reads nothing', async () => {
    const dir = path.join(root, 'many');
    for (let d = 0; d < 10; d++) {
      mkdirSync(path.join(dir, `d${d}`), { recursive: true });
      for (let i = 0; i < 1000; i++) writeFileSync(path.join(dir, `d${d}`, `f${i}.txt`), `file ${d}/${i}`);
    }
    const cacheFile = path.join(root, 'many-stat-cache');
    const cache = StatCache.empty(cacheFile, { now: () => Date.now() + 10_000 });
    resetHashStats();
    const cold = await hashPath(dir, { statCache: cache });
    expect(hashStats.filesRead).toBe(10_000);
    await cache.save();

    // Warm, through a cache loaded from disk as the next `pipe` process would.
    const loaded = await StatCache.load(cacheFile, { now: () => Date.now() + 10_000 });
    resetHashStats();
    const warm = await hashPath(dir, { statCache: loaded });
    expect(hashStats.filesRead).toBe(0);
    expect(warm).toEqual(cold);

    // One changed file (different size) is the only one read again.
    await writeFile(path.join(dir, 'd3', 'f7.txt'), 'changed content');
    resetHashStats();
    const after = await hashPath(dir, { statCache: loaded });
    expect(hashStats.filesRead).toBe(1);
    if (cold?.kind !== 'dir' || after?.kind !== 'dir') throw new Error('expected dirs');
    expect(diffManifests(cold.manifest, after.manifest)).toEqual({ added: [], removed: [], modified: ['d3/f7.txt'] });
  });

  it('rereads a file whose stat-cache entry is racy (modified right before hashing)', async () => {
    const f = path.join(root, 'racy.txt');
    await writeFile(f, 'v0');
    const cache = StatCache.empty(path.join(root, 'racy-cache')); // real clock: the file is brand new
    await hashPath(f, { statCache: cache });
    await writeFile(f, 'v1'); // same size, possibly the same mtime tick
    resetHashStats();
    expect((await hashPath(f, { statCache: cache }))!.hash).toBe(hashBytes('v1'));
    expect(hashStats.filesRead).toBe(1);
  });

  it('detects a same-size edit once the mtime moves, with a warm cache', async () => {
    const f = path.join(root, 'edit.txt');
    await writeFile(f, 'aaaa');
    const cache = laterCache('edit-cache');
    expect((await hashPath(f, { statCache: cache }))!.hash).toBe(hashBytes('aaaa'));
    await new Promise((r) => setTimeout(r, 20));
    await writeFile(f, 'bbbb');
    expect((await hashPath(f, { statCache: cache }))!.hash).toBe(hashBytes('bbbb'));
  });
});

describe('diffManifests', () => {
  const e = (p: string, h: string): ManifestEntry => ({ path: p, hash: hashBytes(h) as Digest, size: h.length });
  it('lists added, removed and modified paths, sorted', () => {
    const before = [e('a', '1'), e('b', '2'), e('c', '3'), e('d/x', '4')];
    const after = [e('a', '1'), e('b', 'changed'), e('d/y', '4'), e('e', '5'), e('0', '0')];
    expect(diffManifests(before, after)).toEqual({ added: ['0', 'd/y', 'e'], removed: ['c', 'd/x'], modified: ['b'] });
  });
  it('is empty for equal manifests', () => {
    const m = [e('a', '1')];
    expect(diffManifests(m, [...m])).toEqual({ added: [], removed: [], modified: [] });
  });
});

describe('manifestHash', () => {
  it('is the hash of the canonical record of the manifest (its encoding is spelled out for speed)', () => {
    const e = (p: string, h: string, size: number): ManifestEntry => ({ path: p, hash: hashBytes(h) as Digest, size });
    const cases: ManifestEntry[][] = [[], [e('a', '1', 0)], [e('a b/ü.png', 'x', 1234567), e('z/0', 'y', 2 ** 40), e('日本/名.txt', 'z', 7)]];
    for (const m of cases) expect(manifestHash(m)).toBe(hashRecord({ dir: m.map((x) => [x.path, x.hash, x.size]) }));
  });
});
