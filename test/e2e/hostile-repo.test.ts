/**
 * A hostile repo: paths that come from git (pipeline.yaml, pipeline.lock, a
 * folder manifest in the cache) that would make pipe write outside the repo.
 * Every one is refused, naming the path or the link, and nothing appears
 * outside the repo.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestRepo } from '../helpers/repo.ts';
import { useCleanups } from '../helpers/cleanup.ts';
import { hashBytes, initHasher } from '../../src/hash/digest.ts';
import { manifestHash } from '../../src/hash/tree.ts';
import { serializeManifest } from '../../src/cache/records.ts';

const { later, track, tempDir } = useCleanups();
const outsideDir = () => tempDir('pipe-outside-');
const repoWith = async (files: Record<string, string>) => track(await TestRepo.create(files));

beforeAll(() => initHasher());

describe('writes stay inside the repo', () => {
  it('refuses an out reached through a symlinked folder that leaves the repo (checkout, run, status)', async () => {
    const outside = await outsideDir();
    const repo = await repoWith({
      'pipeline.yaml': 'stages:\n  make:\n    cmd: mkdir -p link && echo data > link/victim.txt\n    outs: [link/victim.txt]\n',
    });
    expect((await repo.pipe(['run'])).code).toBe(0);
    // git stores symlinks: a later commit swaps the folder for a link out of the repo.
    await rm(repo.path('link'), { recursive: true });
    await symlink(outside, repo.path('link'));

    const co = await repo.pipe(['checkout']);
    expect(co.code).not.toBe(0);
    expect(co.stderr).toContain('symlink link ->');
    expect(co.stderr).toContain('leaves the repo');
    expect(await readdir(outside)).toEqual([]);

    const run = await repo.pipe(['run']);
    expect(run.code).not.toBe(0);
    expect(run.stderr + run.stdout).toContain('symlink link ->');
    expect(await readdir(outside)).toEqual([]);

    const st = await repo.pipe(['status']);
    expect(st.code).not.toBe(0);
    expect(st.stderr + st.stdout).toContain('leaves the repo');
  });

  it('accepts a symlinked folder that stays inside the repo', async () => {
    const repo = await repoWith({
      'pipeline.yaml': 'stages:\n  make:\n    cmd: mkdir -p real && echo data > link/v.txt\n    outs: [link/v.txt]\n',
    });
    await repo.write('real/.keep', '');
    await symlink('real', repo.path('link'));
    expect((await repo.pipe(['run'])).code).toBe(0);
    await rm(repo.path('real/v.txt'));
    const co = await repo.pipe(['checkout']);
    expect(co.code, co.stderr).toBe(0);
    expect(await repo.read('real/v.txt')).toBe('data\n');
  });

  it('refuses a lock whose out is ../x or an absolute path', async () => {
    const outside = await outsideDir();
    const repo = await repoWith({ 'pipeline.yaml': 'stages:\n  make:\n    cmd: echo data > out.txt\n    outs: [out.txt]\n' });
    expect((await repo.pipe(['run'])).code).toBe(0);
    const lock = await repo.read('pipeline.lock');
    expect(lock).toContain('      out.txt:\n');
    const escape = `escape-${randomBytes(4).toString('hex')}.txt`;
    const escaped = path.join(path.dirname(repo.root), escape);
    later(() => rm(escaped, { force: true }));
    await rm(repo.path('out.txt'));

    await writeFile(repo.path('pipeline.lock'), lock.replace('      out.txt:\n', `      ../${escape}:\n`));
    const dotdot = await repo.pipe(['checkout']);
    expect(dotdot.code).not.toBe(0);
    expect(dotdot.stderr).toContain(`pipeline.lock: the output path "../${escape}" leads outside the repo`);
    expect(existsSync(escaped)).toBe(false);

    const abs = path.join(outside, 'abs.txt');
    await writeFile(repo.path('pipeline.lock'), lock.replace('      out.txt:\n', `      ${abs}:\n`));
    const absolute = await repo.pipe(['checkout']);
    expect(absolute.code).not.toBe(0);
    expect(absolute.stderr).toContain(`the output path "${abs}" is absolute`);
    expect(await readdir(outside)).toEqual([]);
    expect(existsSync(repo.path(abs))).toBe(false);
  });

  it('refuses a folder manifest with a ../ entry, even one whose hash matches the lock', async () => {
    const repo = await repoWith({ 'pipeline.yaml': 'stages:\n  make:\n    cmd: mkdir -p outdir && echo data > outdir/a.txt\n    outs: [outdir]\n' });
    expect((await repo.pipe(['run'])).code).toBe(0);
    const lock = await repo.read('pipeline.lock');
    const oldHash = /outdir:\n\s+hash: ([0-9a-f]{16})/.exec(lock)![1]!;
    const evilName = `evil-${randomBytes(4).toString('hex')}.txt`;
    const evil = path.join(path.dirname(repo.root), evilName);
    later(() => rm(evil, { force: true }));
    // A manifest that the attacker made consistent: named by its own hash, and the lock points at it.
    const entries = [{ path: `../../${evilName}`, hash: hashBytes('data\n'), size: 5 }];
    const h = manifestHash(entries);
    await writeFile(repo.path(`cache/manifests/${h}.json`), serializeManifest(entries));
    await writeFile(repo.path('pipeline.lock'), lock.replace(oldHash, h));
    await rm(repo.path('outdir'), { recursive: true });

    const co = await repo.pipe(['checkout']);
    expect(co.code).not.toBe(0);
    expect(co.stderr).toMatch(/manifest .* is missing or damaged/);
    expect(existsSync(evil)).toBe(false);
    expect(existsSync(repo.path('outdir'))).toBe(false);
    // The manifest file is still there to inspect: the refusal is not a silent repair.
    expect(await readFile(repo.path(`cache/manifests/${h}.json`), 'utf8')).toContain(evilName);
  });
});
