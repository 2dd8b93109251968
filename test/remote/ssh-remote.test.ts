/**
 * The SSH remote against a real OpenSSH server started on loopback, through
 * the system's ssh/sftp clients (one master connection, sftp batches).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestRepo } from '../helpers/repo.ts';
import { useCleanups } from '../helpers/cleanup.ts';
import { cloneOf, expectObjectsWhole, roundTrip, walk } from './rig.ts';
import { haveSshd, sshRemoteYaml, startSshd, type Sshd } from './sshd.ts';

const { track, tempDir } = useCleanups();
const remoteDir = () => tempDir('pipe-sshremote-');

describe.skipIf(!haveSshd && !process.env.CI)('SSH remote (real OpenSSH server on loopback)', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    sshd = await startSshd();
  }, 30_000);
  afterAll(async () => sshd?.stop());

  it('push, pull, run --pull: a clone reproduces without recomputing', async () => {
    const dir = await remoteDir();
    const { a, b, c } = await roundTrip(sshRemoteYaml(sshd, dir));
    [a, b, c].forEach(track);
    expect((await walk(dir)).filter((f) => f.includes('.pipe-tmp'))).toEqual([]);
    expect(await expectObjectsWhole(dir)).toBeGreaterThan(10);
  }, 180_000);

  it('two clones pushing the same objects at once both succeed', async () => {
    const dir = await remoteDir();
    const files = { 'pipeline.yaml': 'stages:\n  make:\n    cmd: mkdir -p out && for i in $(seq 1 60); do echo "n $i" > out/f$i; done\n    outs: [out]\n', 'pipe.remotes.yaml': sshRemoteYaml(sshd, dir) };
    const a = track(await TestRepo.create(files));
    const b = track(await TestRepo.create(files));
    expect((await a.pipe(['run'])).code).toBe(0);
    expect((await b.pipe(['run'])).code).toBe(0);
    const [ra, rb] = await Promise.all([a.pipe(['push']), b.pipe(['push'])]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(await expectObjectsWhole(dir)).toBe(60);
    const c = track(await cloneOf(a));
    expect((await c.pipe(['pull'])).code).toBe(0);
    expect(await c.read('out/f42')).toBe('n 42\n');
  }, 120_000);

  it('a key the server refuses is a clear failure naming the remote; the local cache is unchanged', async () => {
    const dir = await remoteDir();
    const a = track(await TestRepo.create({ 'pipeline.yaml': 'stages:\n  make:\n    cmd: echo x > out.txt\n    outs: [out.txt]\n', 'pipe.remotes.yaml': sshRemoteYaml(sshd, dir, sshd.wrongKey) }));
    expect((await a.pipe(['run'])).code).toBe(0);
    const cache = await walk(a.path('cache'));
    for (const cmd of [['push'], ['pull']]) {
      const r = await a.pipe(cmd);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`remote lab \\(${sshd.user}@127\\.0\\.0\\.1:${sshd.port}:.*\\): cannot connect: .*Permission denied`));
    }
    expect(await walk(a.path('cache'))).toEqual(cache);
    expect(await walk(dir)).toEqual([]);
  }, 60_000);
});
