import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { hashPath, type PathHash } from '../../src/hash/tree.ts';
import { StatCache } from '../../src/hash/stat-cache.ts';
import { FolderRecords } from '../../src/hash/folder-records.ts';
import { hashBytes, hashStats, initHasher, resetHashStats } from '../../src/hash/digest.ts';

let root: string;
beforeAll(async () => {
  await initHasher();
  root = await mkdtemp(path.join(os.tmpdir(), 'pipe-folder-records-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Files just written count as safely old: the racy window is moved 10 s into the future. */
const oldEnough = { racyMs: -10_000 };
const noStat = () => StatCache.empty(path.join(root, 'unused-stat-cache'));

async function makeFolder(name: string, n: number): Promise<string> {
  const dir = path.join(root, name);
  for (let i = 0; i < n; i++) {
    const f = path.join(dir, `d${i % 3}`, `f${i}.txt`);
    await mkdir(path.dirname(f), { recursive: true });
    await writeFile(f, `file ${i}\n`);
  }
  return dir;
}

function manifestOf(h: PathHash | null) {
  if (h?.kind !== 'dir') throw new Error('expected a folder');
  return h.manifest;
}

describe('folder records', () => {
  it('an unchanged folder: same hash and manifest as a full hash, nothing read, record survives a reload', async () => {
    const dir = await makeFolder('same', 60);
    const recDir = path.join(root, 'rec-same');
    const first = new FolderRecords(recDir, oldEnough);
    const full = await hashPath(dir, { statCache: noStat(), records: first });
    await first.save();
    expect(await readdir(recDir)).toHaveLength(1);

    const again = new FolderRecords(recDir, oldEnough);
    resetHashStats();
    const h = await hashPath(dir, { statCache: noStat(), records: again });
    expect(hashStats.filesRead).toBe(0);
    expect(h?.hash).toBe(full?.hash);
    expect(h && h.kind === 'dir' && h.files).toBe(60);
    // The manifest is built lazily from the record, in the same sorted order.
    expect(manifestOf(h)).toEqual(manifestOf(full));
    expect(manifestOf(await hashPath(dir, { statCache: noStat() }))).toEqual(manifestOf(h));
  });

  it('one changed file: the new hash, and only that file read', async () => {
    const dir = await makeFolder('one-changed', 30);
    const records = new FolderRecords(path.join(root, 'rec-one'), oldEnough);
    const before = await hashPath(dir, { statCache: noStat(), records });
    await writeFile(path.join(dir, 'd1', 'f4.txt'), 'changed, and longer\n');
    resetHashStats();
    const after = await hashPath(dir, { statCache: noStat(), records });
    expect(hashStats.filesRead).toBe(1);
    expect(after?.hash).not.toBe(before?.hash);
    expect(after?.hash).toBe((await hashPath(dir, { statCache: noStat() }))?.hash);
    expect(manifestOf(after).find((e) => e.path === 'd1/f4.txt')?.hash).toBe(hashBytes('changed, and longer\n'));
    // The files walked before the change came from the old record, the rest were looked up: the new
    // record is whole (the next look reads nothing and gives the same manifest as a full hash).
    resetHashStats();
    const third = await hashPath(dir, { statCache: noStat(), records });
    expect(hashStats.filesRead).toBe(0);
    expect(manifestOf(third)).toEqual(manifestOf(await hashPath(dir, { statCache: noStat() })));
  });

  it('same size, new mtime: the file is read again and the hash follows its content', async () => {
    const dir = await makeFolder('touched', 10);
    const records = new FolderRecords(path.join(root, 'rec-touched'), oldEnough);
    const before = await hashPath(dir, { statCache: noStat(), records });
    const f = path.join(dir, 'd0', 'f3.txt');
    await writeFile(f, 'file X\n'); // same length as 'file 3\n'
    const t = new Date(Date.now() - 60_000);
    await utimes(f, t, t);
    resetHashStats();
    const after = await hashPath(dir, { statCache: noStat(), records });
    expect(hashStats.filesRead).toBe(1);
    expect(after?.hash).not.toBe(before?.hash);
  });

  it('added, removed and renamed files are seen even when the count stays the same', async () => {
    const dir = await makeFolder('renamed', 12);
    const records = new FolderRecords(path.join(root, 'rec-renamed'), oldEnough);
    const before = await hashPath(dir, { statCache: noStat(), records });
    await rename(path.join(dir, 'd2', 'f5.txt'), path.join(dir, 'd2', 'g5.txt'));
    const renamed = await hashPath(dir, { statCache: noStat(), records });
    expect(renamed?.hash).not.toBe(before?.hash);
    expect(manifestOf(renamed).map((e) => e.path)).toContain('d2/g5.txt');
    await rm(path.join(dir, 'd2', 'g5.txt'));
    const removed = await hashPath(dir, { statCache: noStat(), records });
    expect(removed && removed.kind === 'dir' && removed.files).toBe(11);
    await writeFile(path.join(dir, 'new.txt'), 'new\n');
    const added = await hashPath(dir, { statCache: noStat(), records });
    expect(added && added.kind === 'dir' && added.files).toBe(12);
    expect(added?.hash).toBe((await hashPath(dir, { statCache: noStat() }))?.hash);
  });

  it('does not vouch for files modified within the racy window of its walk', async () => {
    const dir = await makeFolder('racy', 5);
    // Default guard (2 s): the files were written just now, so the record cannot be trusted yet.
    const records = new FolderRecords(path.join(root, 'rec-racy'));
    await hashPath(dir, { statCache: noStat(), records });
    resetHashStats();
    await hashPath(dir, { statCache: noStat(), records });
    expect(hashStats.filesRead).toBe(5);
    // Once the files are old enough next to the walk, they are trusted.
    const t = new Date(Date.now() - 60_000);
    for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (e.isFile()) await utimes(path.join(e.parentPath, e.name), t, t);
    }
    await hashPath(dir, { statCache: noStat(), records }); // stats changed: rehash, new record
    resetHashStats();
    await hashPath(dir, { statCache: noStat(), records });
    expect(hashStats.filesRead).toBe(0);
  });

  it('a file too recent to vouch for is read again: same content keeps the fast path, a same-stat edit is caught', async () => {
    const dir = await makeFolder('racy-reread', 6);
    const records = new FolderRecords(path.join(root, 'rec-racy-reread'), { racyMs: 200 });
    const f = path.join(dir, 'd2', 'f5.txt');
    // Everything old enough except f5, written just before the record's walk.
    const t = new Date(Date.now() - 60_000);
    for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (e.isFile() && e.name !== 'f5.txt') await utimes(path.join(e.parentPath, e.name), t, t);
    }
    const before = await hashPath(dir, { statCache: noStat(), records });

    // An edit that keeps size, inode and mtime: only reading the file can see it.
    const { mtime } = await (await import('node:fs/promises')).stat(f);
    await writeFile(f, 'file X\n');
    await utimes(f, mtime, mtime);
    resetHashStats();
    const edited = await hashPath(dir, { statCache: noStat(), records });
    expect(edited?.hash).not.toBe(before?.hash);
    expect(edited?.hash).toBe((await hashPath(dir, { statCache: noStat() }))?.hash);

    // Unchanged since: read once more (still too recent for the last walk), then the record vouches for it.
    await new Promise((r) => setTimeout(r, 300));
    resetHashStats();
    expect((await hashPath(dir, { statCache: noStat(), records }))?.hash).toBe(edited?.hash);
    expect(hashStats.filesRead).toBe(1);
    resetHashStats();
    expect((await hashPath(dir, { statCache: noStat(), records }))?.hash).toBe(edited?.hash);
    expect(hashStats.filesRead).toBe(0);
  });

  it('a damaged or foreign record file is ignored, never trusted', async () => {
    const dir = await makeFolder('damaged', 8);
    const recDir = path.join(root, 'rec-damaged');
    const records = new FolderRecords(recDir, oldEnough);
    const good = await hashPath(dir, { statCache: noStat(), records });
    await records.save();
    const [file] = await readdir(recDir);
    await writeFile(path.join(recDir, file!), '{"v":1,"trunc');
    resetHashStats();
    const h = await hashPath(dir, { statCache: noStat(), records: new FolderRecords(recDir, oldEnough) });
    expect(h?.hash).toBe(good?.hash);
    expect(hashStats.filesRead).toBe(8);

    // A record written for another folder (say the repo moved) is not taken for this one.
    const other = await makeFolder('other', 8);
    const otherRecords = new FolderRecords(recDir, oldEnough);
    await hashPath(other, { statCache: noStat(), records: otherRecords });
    await otherRecords.save();
    const names = await readdir(recDir);
    const otherFile = names.find((n) => n !== file)!;
    await rename(path.join(recDir, otherFile), path.join(recDir, file!));
    resetHashStats();
    const again = await hashPath(dir, { statCache: noStat(), records: new FolderRecords(recDir, oldEnough) });
    expect(again?.hash).toBe(good?.hash);
    expect(hashStats.filesRead).toBe(8);
  });

  it('prune() removes the records of folders that are gone, and damaged ones; dryRun only counts', async () => {
    const recDir = path.join(root, 'rec-prune');
    const kept = await makeFolder('prune-kept', 3);
    const gone = await makeFolder('prune-gone', 3);
    const records = new FolderRecords(recDir, oldEnough);
    await hashPath(kept, { statCache: noStat(), records });
    await hashPath(gone, { statCache: noStat(), records });
    await records.save();
    await writeFile(path.join(recDir, 'damaged.json'), '{"v":1');
    await rm(gone, { recursive: true });
    const exists = (abs: string) => abs === kept;
    expect(await new FolderRecords(recDir).prune(exists, { dryRun: true })).toBe(2);
    expect(await readdir(recDir)).toHaveLength(3);
    expect(await new FolderRecords(recDir).prune(exists, { dryRun: false })).toBe(2);
    expect(await readdir(recDir)).toHaveLength(1);
    resetHashStats();
    await hashPath(kept, { statCache: noStat(), records: new FolderRecords(recDir, oldEnough) });
    expect(hashStats.filesRead).toBe(0); // the kept record still serves
  });

  it('a record stays valid for the folder a rename moved its files to (inodes, sizes, mtimes kept)', async () => {
    const dir = await makeFolder('moved-src', 6);
    const scratch = new FolderRecords(null, oldEnough);
    const h = await hashPath(dir, { statCache: noStat(), records: scratch });
    const dest = path.join(root, 'moved-dest');
    await rename(dir, dest);
    const records = new FolderRecords(path.join(root, 'rec-moved'), oldEnough);
    records.set(dest, scratch.get(dir)!);
    resetHashStats();
    expect((await hashPath(dest, { statCache: noStat(), records }))?.hash).toBe(h?.hash);
    expect(hashStats.filesRead).toBe(0);
  });
});
