/** When a run sweeps the cache for temps of killed writers: after taking over a dead run's lock, else once a day. */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { CacheStore } from '../../src/cache/store.ts';
import { sweepCacheTemps, SWEEP_EVERY_MS } from '../../src/run/temp-sweep.ts';
import { TestRepo } from '../helpers/repo.ts';

/** A pid that belongs to no live process: a child that has exited. */
async function deadPid(): Promise<number> {
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => dead.once('exit', r));
  return dead.pid!;
}

let repo: TestRepo | undefined;
afterEach(async () => repo?.dispose());

describe('sweepCacheTemps', () => {
  it('sweeps the first time, then only after a lock take-over or once the last sweep is a day old', async () => {
    repo = await TestRepo.create({});
    const store = new CacheStore(repo.path('cache'));
    const pipeDir = repo.path('.pipe');
    await mkdir(pipeDir, { recursive: true });
    const pid = await deadPid();
    const temp = async (name: string) => {
      const f = path.join(store.dir, 'objects', 'ab', `${name}.pipe-tmp-${pid}-x`);
      await mkdir(path.dirname(f), { recursive: true });
      await writeFile(f, 'half an object');
      return f;
    };
    const first = await temp('one');
    expect(await sweepCacheTemps(pipeDir, store, false)).toBe(true);
    expect(existsSync(first)).toBe(false);

    const second = await temp('two');
    expect(await sweepCacheTemps(pipeDir, store, false)).toBe(false);
    expect(existsSync(second)).toBe(true);
    expect(await sweepCacheTemps(pipeDir, store, true)).toBe(true);
    expect(existsSync(second)).toBe(false);

    const third = await temp('three');
    const dayAgo = new Date(Date.now() - SWEEP_EVERY_MS - 60_000);
    await utimes(path.join(pipeDir, 'cache-temps-swept'), dayAgo, dayAgo);
    expect(await sweepCacheTemps(pipeDir, store, false)).toBe(true);
    expect(existsSync(third)).toBe(false);
  });

  it('pipe run sweeps after taking over the lock of a run that died', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo $RANDOM > a.txt\n    outs: [a.txt]\n' });
    expect((await repo.pipe(['run'])).code).toBe(0); // sweeps (first time) and stamps
    const pid = await deadPid();
    const temp = repo.path(`cache/objects/ab/x.pipe-tmp-${pid}-y`);
    await mkdir(path.dirname(temp), { recursive: true });
    await writeFile(temp, 'half an object');
    const forged = { pid, hostname: os.hostname(), startedAt: new Date().toISOString(), command: 'pipe run', token: 'dead-run' };
    await writeFile(repo.path('.pipe/run.lock'), JSON.stringify(forged));
    const r = await repo.pipe(['run', '--force', '--no-wait']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(temp)).toBe(false);
  });
});
