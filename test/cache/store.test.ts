import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile, open } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { CacheStore, type RunRecord } from '../../src/cache/store.ts';
import { hashPath, type PathHash } from '../../src/hash/tree.ts';
import { StatCache } from '../../src/hash/stat-cache.ts';
import { hashBytes, hashFile, initHasher, type Digest } from '../../src/hash/digest.ts';
import { isTempName } from '../../src/hash/temp-name.ts';

let root: string;
let n = 0;
beforeAll(async () => {
  await initHasher();
  root = await mkdtemp(path.join(os.tmpdir(), 'pipe-store-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh workspace and cache per test. */
async function rig(): Promise<{ ws: string; store: CacheStore; hash: (rel: string) => Promise<PathHash> }> {
  const base = path.join(root, `t${n++}`);
  const ws = path.join(base, 'ws');
  await mkdir(ws, { recursive: true });
  const store = new CacheStore(path.join(base, 'cache'));
  const hash = async (rel: string) => (await hashPath(path.join(ws, rel), { statCache: StatCache.empty(path.join(base, 'sc')) }))!;
  return { ws, store, hash };
}

async function write(ws: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, c] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(ws, rel)), { recursive: true });
    await writeFile(path.join(ws, rel), c);
  }
}

async function listAll(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

async function flipByte(file: string, at = 0): Promise<void> {
  const fh = await open(file, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0] = b[0]! ^ 0xff;
  await fh.write(b, 0, 1, at);
  await fh.close();
}

const runRec = (outs: RunRecord['outs']): RunRecord => ({ stage: 's', outs, durationMs: 5, createdAt: new Date().toISOString() });

describe('CacheStore store and restore', () => {
  it('round-trips a file', async () => {
    const { ws, store, hash } = await rig();
    await write(ws, { 'model.bin': randomBytes(3000) });
    const h = await hash('model.bin');
    await store.storePath(path.join(ws, 'model.bin'), h);
    expect(await hashFile(store.objectPath(h.hash))).toBe(h.hash);
    expect(path.relative(store.dir, store.objectPath(h.hash))).toBe(path.join('objects', h.hash.slice(0, 2), h.hash.slice(2)));
    expect(await store.hasPath(h)).toBe(true);

    const dest = path.join(ws, 'restored', 'model.bin');
    expect((await store.restorePath(h, dest)).ok).toBe(true);
    expect((await readFile(dest)).equals(await readFile(path.join(ws, 'model.bin')))).toBe(true);
  });

  it('round-trips a nested folder, replacing what was at the destination', async () => {
    const { ws, store, hash } = await rig();
    const big = randomBytes(2 * 1024 * 1024 + 1);
    await write(ws, { 'out/a.txt': 'A', 'out/sub/b.txt': 'B', 'out/sub/deep/c.bin': big, 'out/dup1': 'same', 'out/dup2': 'same' });
    const h = await hash('out');
    await store.storePath(path.join(ws, 'out'), h);
    expect(await store.hasPath(h)).toBe(true);
    expect(await store.loadManifest(h.hash)).toEqual(h.kind === 'dir' ? h.manifest : null);

    await rm(path.join(ws, 'out'), { recursive: true });
    await write(ws, { 'out/stale.txt': 'old file that must go', 'out/a.txt': 'old A' });
    const r = await store.restorePath(h, path.join(ws, 'out'));
    expect(r).toEqual({ ok: true, value: undefined });
    expect((await hash('out')).hash).toBe(h.hash);
    expect(existsSync(path.join(ws, 'out', 'stale.txt'))).toBe(false);
    // Buffer.equals: vitest's deep equality walks a 2 MiB buffer element by element (very slow).
    expect((await readFile(path.join(ws, 'out/sub/deep/c.bin'))).equals(big)).toBe(true);
    // No temp or old copies left next to the destination.
    expect((await readdir(ws)).filter(isTempName)).toEqual([]);
  });

  it('restores a folder where a file was, and into a missing parent', async () => {
    const { ws, store, hash } = await rig();
    await write(ws, { 'd/x': 'x' });
    const h = await hash('d');
    await store.storePath(path.join(ws, 'd'), h);
    await write(ws, { 'here': 'a file in the way' });
    expect((await store.restorePath(h, path.join(ws, 'here'))).ok).toBe(true);
    expect(await readFile(path.join(ws, 'here', 'x'), 'utf8')).toBe('x');
    expect((await store.restorePath(h, path.join(ws, 'new', 'parent', 'd'))).ok).toBe(true);
    expect(await readFile(path.join(ws, 'new/parent/d/x'), 'utf8')).toBe('x');
  });

  it('reports absent objects and manifests through hasPath', async () => {
    const { ws, store, hash } = await rig();
    await write(ws, { 'd/1': 'one', 'd/2': 'two' });
    const h = await hash('d');
    expect(await store.hasPath(h)).toBe(false);
    await store.storePath(path.join(ws, 'd'), h);
    expect(await store.hasPath(h)).toBe(true);
    await rm(store.objectPath(hashBytes('two')));
    expect(await store.hasPath(h)).toBe(false);
    expect(await store.hasPath({ kind: 'file', hash: hashBytes('one'), size: 3 })).toBe(true);
    expect(await store.hasPath({ kind: 'file', hash: hashBytes('one'), size: 4 })).toBe(false);
  });

  it('detects a corrupt object: Failure, object dropped, destination untouched', async () => {
    const { ws, store, hash } = await rig();
    await write(ws, { 'out/good.txt': 'good', 'out/sub/bad.txt': 'will be corrupted' });
    const h = await hash('out');
    await store.storePath(path.join(ws, 'out'), h);
    const badHash = hashBytes('will be corrupted');
    await flipByte(store.objectPath(badHash), 3);

    // The destination holds some earlier version the user still has.
    const dest = path.join(ws, 'dest');
    await write(ws, { 'dest/mine.txt': 'precious' });
    const r = await store.restorePath(h, dest);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('corrupt-cache');
    expect(r.error.message).toContain(badHash);
    expect(r.error.message).toContain(path.join(dest, 'sub', 'bad.txt'));
    expect(r.error.file).toBe(store.objectPath(badHash));
    expect(existsSync(store.objectPath(badHash))).toBe(false); // dropped
    expect(existsSync(store.objectPath(hashBytes('good')))).toBe(true);
    expect(await listAll(dest)).toEqual(['mine.txt']);
    expect(await readFile(path.join(dest, 'mine.txt'), 'utf8')).toBe('precious');
    expect((await readdir(ws)).filter(isTempName)).toEqual([]);
    expect(await store.hasPath(h)).toBe(false);
  });

  it('detects a corrupt single-file object and a missing one', async () => {
    const { ws, store, hash } = await rig();
    await write(ws, { 'f.bin': randomBytes(100) });
    const h = await hash('f.bin');
    await store.storePath(path.join(ws, 'f.bin'), h);
    await flipByte(store.objectPath(h.hash), 50);
    const r1 = await store.restorePath(h, path.join(ws, 'f.bin'));
    expect(r1.ok ? 'ok' : r1.error.kind).toBe('corrupt-cache');
    expect((await hash('f.bin')).hash).toBe(h.hash); // the workspace file is untouched
    const r2 = await store.restorePath(h, path.join(ws, 'f.bin'));
    expect(r2.ok ? 'ok' : r2.error.message).toMatch(/missing/);
  });

  it('fails cleanly when a folder manifest is damaged', async () => {
    const { ws, store, hash } = await rig();
    await write(ws, { 'd/x': 'x' });
    const h = await hash('d');
    await store.storePath(path.join(ws, 'd'), h);
    await writeFile(store.manifestPath(h.hash), '{"v":1,"files":[["x","0000000000000000",1]]}');
    expect(await store.loadManifest(h.hash)).toBeNull(); // its content no longer matches its name
    const r = await store.restorePath(h, path.join(ws, 'elsewhere'));
    expect(r.ok ? 'ok' : r.error.kind).toBe('corrupt-cache');
    expect(existsSync(path.join(ws, 'elsewhere'))).toBe(false);
  });

  it('refuses to store a file that changed after it was hashed', async () => {
    const { ws, store, hash } = await rig();
    await write(ws, { 'f.txt': 'before' });
    const h = await hash('f.txt');
    await write(ws, { 'f.txt': 'after!' });
    await expect(store.storePath(path.join(ws, 'f.txt'), h)).rejects.toMatchObject({ failure: { kind: 'io' } });
    expect(existsSync(store.objectPath(h.hash))).toBe(false);
    expect((await listAll(path.join(store.dir, 'objects'))).filter(isTempName)).toEqual([]);
  });
});

describe('CacheStore records', () => {
  it('round-trips run and item records; damaged JSON reads as null', async () => {
    const { store } = await rig();
    const key = hashBytes('k');
    expect(await store.getRun(key)).toBeNull();
    const rec = runRec({ 'out/m.bin': { kind: 'file', hash: hashBytes('m'), size: 1 } });
    await store.putRun(key, rec);
    expect(await store.getRun(key)).toEqual(rec);
    await writeFile(store.runPath(key), '{"stage": "s", "outs": ');
    expect(await store.getRun(key)).toBeNull();
    await writeFile(store.runPath(key), '{"stage": "s", "outs": {"x": {"kind": "file", "hash": "nothex", "size": 1}}, "durationMs": 1, "createdAt": ""}');
    expect(await store.getRun(key)).toBeNull();

    const ikey = hashBytes('item');
    const item = { files: [{ path: 'a/b.png', hash: hashBytes('b'), size: 1 }], summary: { score: 0.5 }, createdAt: 'now' };
    await store.putItem(ikey, item);
    expect(await store.getItem(ikey)).toEqual(item);
    expect(path.relative(store.dir, store.itemPath(ikey))).toBe(path.join('items', ikey.slice(0, 2), `${ikey}.json`));
    expect((await store.listItems()).map((i) => i.key)).toEqual([ikey]);
    await store.putRun(hashBytes('k2'), rec);
    const runs = await store.listRuns();
    // A damaged record is listed with no creation time, so a keep-recent gc drops it.
    expect(runs.find((r) => r.key === key)).toEqual({ key, createdAt: '' });
    expect(runs.find((r) => r.key === hashBytes('k2'))?.createdAt).toBe(rec.createdAt);
  });

  it('materializes item files from objects, verifying them', async () => {
    const { ws, store, hash } = await rig();
    await write(ws, { 'scratch/img/1.png': 'one', 'scratch/img/2.png': 'two' });
    const h = await hash('scratch');
    await store.storePath(path.join(ws, 'scratch'), h);
    if (h.kind !== 'dir') throw new Error('dir expected');
    const dest = path.join(ws, 'mapped');
    await write(ws, { 'mapped/other-item.png': 'keep me' });
    expect((await store.materializeItemFiles(h.manifest, dest)).ok).toBe(true);
    expect(await listAll(dest)).toEqual(['img', 'img/1.png', 'img/2.png', 'other-item.png']);
    expect(await readFile(path.join(dest, 'img/2.png'), 'utf8')).toBe('two');

    await flipByte(store.objectPath(hashBytes('one')));
    const r = await store.materializeItemFiles(h.manifest, path.join(ws, 'mapped2'));
    expect(r.ok ? 'ok' : r.error.kind).toBe('corrupt-cache');
    expect(existsSync(store.objectPath(hashBytes('one')))).toBe(false);
    expect(existsSync(path.join(ws, 'mapped2', 'img', '1.png'))).toBe(false);
  });
});

describe('CacheStore crash safety', () => {
  it('a SIGKILL mid-store leaves only complete objects and temps, which are ignored and cleaned', async () => {
    const { ws, store, hash } = await rig();
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 48; i++) files[`big/f${i}.bin`] = randomBytes(1024 * 1024);
    await write(ws, files);
    const h = await hash('big');
    // .mts: outside the repo there is no package.json saying ESM, and the script uses top-level await.
    const script = path.join(ws, '..', 'store-child.mts');
    await writeFile(
      script,
      `import { CacheStore } from ${JSON.stringify(path.resolve('src/cache/store.ts'))};
       import { hashPath } from ${JSON.stringify(path.resolve('src/hash/tree.ts'))};
       import { StatCache } from ${JSON.stringify(path.resolve('src/hash/stat-cache.ts'))};
       const h = await hashPath(process.argv[2], { statCache: StatCache.empty('/dev/null/x') });
       process.stdout.write('start\\n');
       await new CacheStore(process.argv[3], { concurrency: 4 }).storePath(process.argv[2], h);
       process.stdout.write('done\\n');`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script, path.join(ws, 'big'), store.dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b));
    const objects = path.join(store.dir, 'objects');
    // Kill it as soon as the first temp shows up (or when it is done, if it is that quick).
    while (child.exitCode === null) {
      if ((await listAll(objects)).some(isTempName)) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));

    // Every object under its real name is complete; everything else is a temp.
    const entries = (await listAll(objects)).filter((p) => p.includes(path.sep));
    for (const rel of entries) {
      if (isTempName(rel)) continue;
      const [fan, rest] = rel.split(path.sep) as [string, string];
      expect(await hashFile(path.join(objects, rel))).toBe(fan + rest);
    }
    expect(out).toContain('start'); // the child really got to storing before it was killed
    expect(out).not.toContain('done');

    // A later run does not count the half-stored folder as present, and cleans the temps.
    expect(await store.hasPath(h)).toBe(false);
    await store.cleanTemps();
    expect((await listAll(objects)).filter(isTempName)).toEqual([]);
    await store.storePath(path.join(ws, 'big'), h);
    expect(await store.hasPath(h)).toBe(true);
  }, 60_000);

  it('temps of a dead process are ignored by hashing and cleaned on the next restore and gc', async () => {
    const { ws, store, hash } = await rig();
    await write(ws, { 'out/a.txt': 'a' });
    const h = await hash('out');
    await store.storePath(path.join(ws, 'out'), h);
    // A pid that certainly belongs to no live process: a child that has exited.
    const dead = spawn(process.execPath, ['-e', '0']);
    const pid = dead.pid!;
    await new Promise((r) => dead.once('exit', r));
    await write(ws, {
      [`out.pipe-tmp-${pid}-abc/a.txt`]: 'half a restore',
      [`out/a.txt.pipe-tmp-${pid}-def`]: 'half',
    });
    await writeFile(path.join(store.dir, 'objects', `${h.hash.slice(0, 2)}-x.pipe-tmp-${pid}-zz`), 'half object');
    // A temp of a live process (ours) must be left alone.
    await writeFile(path.join(store.dir, 'manifests', `m.pipe-tmp-${process.pid}-live`), 'in progress');

    expect((await hash('out')).hash).toBe(h.hash); // the temp inside is ignored
    expect((await store.restorePath(h, path.join(ws, 'out'))).ok).toBe(true);
    expect((await readdir(ws)).filter(isTempName)).toEqual([]);
    const res = await store.gc({ records: [h], runKeys: [] }, { dryRun: false });
    expect(res.objects).toBe(0);
    expect((await listAll(path.join(store.dir, 'objects'))).filter(isTempName)).toEqual([]);
    expect(existsSync(path.join(store.dir, 'manifests', `m.pipe-tmp-${process.pid}-live`))).toBe(true);
  });
});

describe('CacheStore.gc', () => {
  it('keeps what is reachable, removes the rest, and a dry run removes nothing', async () => {
    const { ws, store, hash } = await rig();
    await write(ws, {
      'kept.txt': 'kept file',
      'viaRun/x.txt': 'x',
      'viaRun/shared.txt': 'shared',
      'dropped/y.txt': 'y',
      'dropped/shared.txt': 'shared',
      'item/i.png': 'item output',
      'olditem/j.png': 'old item output',
    });
    const kept = await hash('kept.txt');
    const viaRun = await hash('viaRun');
    const dropped = await hash('dropped');
    const item = await hash('item');
    const olditem = await hash('olditem');
    for (const [rel, h] of [['kept.txt', kept], ['viaRun', viaRun], ['dropped', dropped], ['item', item], ['olditem', olditem]] as const) {
      await store.storePath(path.join(ws, rel), h);
    }
    const runKey = hashBytes('run1');
    const oldRun = hashBytes('run0');
    await store.putRun(runKey, runRec({ viaRun: { kind: 'dir', hash: viaRun.hash, size: viaRun.size, files: 2 } }));
    await store.putRun(oldRun, runRec({ dropped: { kind: 'dir', hash: dropped.hash, size: dropped.size, files: 2 } }));
    const itemKey = hashBytes('i1');
    const oldItemKey = hashBytes('i0');
    if (item.kind !== 'dir' || olditem.kind !== 'dir') throw new Error('dirs expected');
    await store.putItem(itemKey, { files: item.manifest, createdAt: 'now' });
    await store.putItem(oldItemKey, { files: olditem.manifest, createdAt: 'then' });

    const before = await listAll(store.dir);
    const keep = { records: [kept], runKeys: [runKey], itemKeys: [itemKey] as Digest[] };
    const dry = await store.gc(keep, { dryRun: true });
    expect(await listAll(store.dir)).toEqual(before);
    // dropped/y.txt and olditem/j.png go; shared.txt stays (viaRun needs it).
    expect(dry).toMatchObject({ objects: 2, manifests: 3, runs: 1, items: 1 });
    expect(dry.bytes).toBeGreaterThan('y'.length + 'old item output'.length);

    const real = await store.gc(keep, { dryRun: false });
    expect(real).toEqual(dry);
    expect(await store.hasPath(kept)).toBe(true);
    expect(await store.hasPath(viaRun)).toBe(true);
    expect(await store.getRun(runKey)).not.toBeNull();
    expect(await store.getItem(itemKey)).not.toBeNull();
    expect(existsSync(store.objectPath(hashBytes('item output')))).toBe(true);
    expect(await store.hasPath(dropped)).toBe(false);
    expect(await store.getRun(oldRun)).toBeNull();
    expect(await store.getItem(oldItemKey)).toBeNull();
    expect(existsSync(store.objectPath(hashBytes('y')))).toBe(false);
    expect(existsSync(store.objectPath(hashBytes('old item output')))).toBe(false);
    expect(existsSync(store.objectPath(hashBytes('shared')))).toBe(true);
    expect((await store.restorePath(viaRun, path.join(ws, 'again'))).ok).toBe(true);

    // Nothing left to collect.
    expect(await store.gc(keep, { dryRun: false })).toEqual({ objects: 0, bytes: 0, manifests: 0, runs: 0, items: 0 });
  });

  it('keeps every item record unless told which', async () => {
    const { ws, store, hash } = await rig();
    await write(ws, { 'i/a': 'a' });
    const h = await hash('i');
    await store.storePath(path.join(ws, 'i'), h);
    if (h.kind !== 'dir') throw new Error('dir expected');
    await store.putItem(hashBytes('x'), { files: h.manifest, createdAt: 'now' });
    const r = await store.gc({ records: [], runKeys: [] }, { dryRun: false });
    expect(r).toMatchObject({ objects: 0, items: 0, manifests: 1 });
    expect(existsSync(store.objectPath(hashBytes('a')))).toBe(true);
  });
});
