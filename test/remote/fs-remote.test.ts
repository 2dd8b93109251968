/**
 * A shared-folder remote (a lab NAS or NFS mount is a folder too): the round
 * trip, a corrupted object, a killed push, an unreachable remote.
 */
import { describe, expect, it } from 'vitest';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TestRepo } from '../helpers/repo.ts';
import { useCleanups } from '../helpers/cleanup.ts';
import { cloneOf, expectObjectsWhole, roundTrip, walk } from './rig.ts';

const { track, tempDir } = useCleanups();
const remoteDir = () => tempDir('pipe-remote-');

describe('folder remote', () => {
  it('push, pull, run --pull: a clone reproduces without recomputing', async () => {
    const dir = await remoteDir();
    const { a, b, c } = await roundTrip(`remotes:\n  nas: { url: ${dir} }\n`);
    [a, b, c].forEach(track);
    const text = await c.pipe(['status', '--remote']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`remote nas (${dir})`);
    expect(text.stdout).toMatch(/^stage\s+outputs\s+remote\s+local cache$/m);
    expect(text.stdout).toMatch(/^gen\s+6 file\(s\), \d+ B\s+has all\s+has all$/m);
    // The remote mirrors the cache layout: objects by hash, manifests, run records; no temps left.
    const files = await walk(dir);
    expect(files.some((f) => f.startsWith('runs/'))).toBe(true);
    expect(files.some((f) => f.startsWith('manifests/'))).toBe(true);
    expect(files.filter((f) => f.includes('.pipe-tmp'))).toEqual([]);
    expect(await expectObjectsWhole(dir)).toBeGreaterThan(10);
  }, 120_000);

  it('a corrupted object on the remote is detected on pull and not used', async () => {
    const dir = await remoteDir();
    const a = track(await TestRepo.create({ 'pipeline.yaml': 'stages:\n  make:\n    cmd: echo precious > out.txt\n    outs: [out.txt]\n', 'pipe.remotes.yaml': `remotes:\n  nas: { url: ${dir} }\n` }));
    expect((await a.pipe(['run'])).code).toBe(0);
    expect((await a.pipe(['push'])).code).toBe(0);
    const [obj] = (await walk(path.join(dir, 'objects'))).map((f) => path.join(dir, 'objects', f));
    await writeFile(obj!, 'tampered\n');

    const b = track(await cloneOf(a));
    const pulled = await b.pipe(['pull']);
    expect(pulled.code).toBe(1);
    expect(pulled.stderr).toMatch(/remote nas .*objects\/[0-9a-f]{2}\/[0-9a-f]{14} is damaged \(its content hashes to [0-9a-f]{16}\); not used/);
    expect(await walk(b.path('cache/objects'))).toEqual([]);
    await expect(b.read('out.txt')).rejects.toThrow();
    // run --pull does not use it either: the stage runs instead.
    const run = await b.pipe(['run', '--pull']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/is damaged/);
    expect(await b.read('out.txt')).toBe('precious\n');
  }, 60_000);

  it('a push or pull killed half way leaves no partial object; the next one resumes and completes', async () => {
    const dir = await remoteDir();
    // 400 files of 64 KB: long enough to be killed in the middle.
    const a = track(
      await TestRepo.create({
        'pipeline.yaml': `stages:\n  make:\n    cmd: mkdir -p out && node -e "const fs=require('fs');for(let i=0;i<400;i++)fs.writeFileSync('out/f'+i,require('crypto').randomBytes(65536))"\n    outs: [out]\n`,
        'pipe.remotes.yaml': `remotes:\n  nas: { url: ${dir}, jobs: 2 }\n`,
      }),
    );
    expect((await a.pipe(['run'])).code).toBe(0);
    const { child, done } = a.start(['push']);
    for (;;) {
      const n = (await walk(path.join(dir, 'objects'))).length;
      if (n >= 20) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await done;
    const partial = await expectObjectsWhole(dir);
    expect(partial).toBeLessThan(400);
    expect(await readdir(path.join(dir, 'runs')).catch(() => [])).toEqual([]); // the run record goes last

    const resumed = await a.pipe(['push']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const sent = Number(/pushed (\d+) file/.exec(resumed.stdout)![1]);
    expect(sent).toBeLessThan(402); // 400 objects + manifest + run record, minus what the first push finished
    expect(await expectObjectsWhole(dir)).toBe(400);
    // A pull killed half way: only whole objects in the local cache, and the next pull completes.
    const b = track(await cloneOf(a));
    const killed = b.start(['pull']);
    while ((await walk(b.path('cache/objects'))).filter((f) => !f.includes('.pipe-tmp')).length < 20) await new Promise((r) => setTimeout(r, 5));
    killed.child.kill('SIGKILL');
    await killed.done;
    expect(await expectObjectsWhole(b.path('cache'))).toBeLessThan(400);
    const again = await b.pipe(['pull']);
    expect(again.code, again.stderr).toBe(0);
    expect(await expectObjectsWhole(b.path('cache'))).toBe(400);
    expect((await readdir(b.path('out'))).length).toBe(400);
  }, 120_000);

  it('an unreachable remote is a clear failure naming it, and the local cache is unchanged', async () => {
    const a = track(await TestRepo.create({ 'pipeline.yaml': 'stages:\n  make:\n    cmd: echo x > out.txt\n    outs: [out.txt]\n', 'pipe.remotes.yaml': 'remotes:\n  nas: { url: /nonexistent/pipe-remote }\n' }));
    expect((await a.pipe(['run'])).code).toBe(0);
    const cache = await walk(a.path('cache'));
    for (const cmd of [['push'], ['pull'], ['status', '--remote'], ['run', '--pull']]) {
      const r = await a.pipe(cmd);
      expect(r.code, cmd.join(' ')).toBe(1);
      expect(r.stderr).toContain('remote nas (/nonexistent/pipe-remote) cannot be reached');
    }
    expect(await walk(a.path('cache'))).toEqual(cache);

    await writeFile(a.path('pipe.remotes.yaml'), 'remotes:\n  nas: { url: /tmp, jobz: 3 }\n');
    const bad = await a.pipe(['push']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/pipe\.remotes\.yaml:2:\d+/);
    await writeFile(a.path('pipe.remotes.yaml'), '');
    expect((await a.pipe(['push'])).stderr).toContain('no remote is declared');
  }, 60_000);
});
