import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireRepoLock, LOCK_FILE } from '../../src/lock/repo-lock.ts';

let dir: string;
let pipeDir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-lock-'));
  pipeDir = path.join(dir, '.pipe');
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

/** The pid of a process that has exited (and been reaped), so it is certainly dead. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

/** A live process that is not us (a lock held by "another run"). */
function liveProcess() {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  return { pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

async function writeForeignLock(pid: number, hostname = os.hostname()) {
  await mkdir(pipeDir, { recursive: true });
  await writeFile(
    path.join(pipeDir, LOCK_FILE),
    JSON.stringify({ pid, hostname, startedAt: '2024-01-01T00:00:00.000Z', command: 'pipe run', token: 'theirs' }),
  );
}

describe('acquireRepoLock', () => {
  it('creates the lock, refuses a second acquire, and frees it on release', async () => {
    const first = await acquireRepoLock(pipeDir, { wait: false });
    expect(first.ok).toBe(true);
    const info = JSON.parse(await readFile(path.join(pipeDir, LOCK_FILE), 'utf8'));
    expect(info).toMatchObject({ pid: process.pid, hostname: os.hostname() });

    const second = await acquireRepoLock(pipeDir, { wait: false });
    expect(second.ok).toBe(false);
    if (!second.ok) {
      expect(second.error.kind).toBe('busy');
      expect(second.error.message).toContain(`pid ${process.pid}`);
      expect(second.error.hint).toMatch(/--wait/);
    }
    if (first.ok) await first.value.release();
    const third = await acquireRepoLock(pipeDir, { wait: false });
    expect(third.ok).toBe(true);
    if (third.ok) await third.value.release();
    expect((await readdir(pipeDir)).filter((f) => f !== '.gitkeep')).toEqual([]); // no temp files left
  });

  it('refuses a lock held by another live process', async () => {
    const other = liveProcess();
    try {
      await writeForeignLock(other.pid);
      const r = await acquireRepoLock(pipeDir, { wait: false });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.message).toContain(`pid ${other.pid}`);
    } finally {
      other.stop();
    }
  });

  it('waits for a live holder when asked, and gets the lock once it is released', async () => {
    const first = await acquireRepoLock(pipeDir, { wait: false });
    if (!first.ok) throw new Error('setup');
    const waitedFor: number[] = [];
    const second = acquireRepoLock(pipeDir, {
      wait: true,
      onWait: (pid) => {
        waitedFor.push(pid);
        setTimeout(() => void first.value.release(), 100);
      },
    });
    const r = await second;
    expect(waitedFor).toEqual([process.pid]);
    expect(r.ok).toBe(true);
    if (r.ok) await r.value.release();
  });

  it('gives up waiting after timeoutMs', async () => {
    const other = liveProcess();
    try {
      await writeForeignLock(other.pid);
      const r = await acquireRepoLock(pipeDir, { wait: true, timeoutMs: 300 });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.kind).toBe('busy');
    } finally {
      other.stop();
    }
  });

  it('takes over a lock left by a dead process', async () => {
    const pid = await deadPid();
    await writeForeignLock(pid);
    const r = await acquireRepoLock(pipeDir, { wait: false });
    expect(r.ok).toBe(true);
    const info = JSON.parse(await readFile(path.join(pipeDir, LOCK_FILE), 'utf8'));
    expect(info.pid).toBe(process.pid);
    if (r.ok) await r.value.release();
  });

  it('of two concurrent takers of a stale lock exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      await writeForeignLock(await deadPid());
      const [a, b] = await Promise.all([acquireRepoLock(pipeDir, { wait: false }), acquireRepoLock(pipeDir, { wait: false })]);
      expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
      for (const r of [a, b]) if (r.ok) await r.value.release();
    }
  });

  it('a live pid with a different start time (a recycled pid) is stale', async () => {
    await mkdir(pipeDir, { recursive: true });
    await writeFile(
      path.join(pipeDir, LOCK_FILE),
      JSON.stringify({ pid: process.pid, hostname: os.hostname(), startedAt: 'x', command: 'pipe run', token: 'old', procStart: '1' }),
    );
    const r = await acquireRepoLock(pipeDir, { wait: false });
    expect(r.ok).toBe(true);
    if (r.ok) await r.value.release();
  });

  it('a lock from another host with a fresh lease is not taken over, whatever its pid', async () => {
    await writeForeignLock(await deadPid(), 'some-other-host');
    const r = await acquireRepoLock(pipeDir, { wait: false });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain('some-other-host');
  });

  it('a lock from another host whose lease is not renewed is taken over; a renewed one is not', async () => {
    // The other host's runner, with a short lease: it renews (touches the lock) while it lives.
    const holder = await acquireRepoLock(pipeDir, { wait: false, hostname: 'login1', heartbeatMs: 50 });
    if (!holder.ok) throw new Error('setup');
    const blocked = await acquireRepoLock(pipeDir, { wait: true, timeoutMs: 600, leaseMs: 300 });
    expect(blocked.ok).toBe(false); // renewed every 50 ms: never stale
    await holder.value.release();

    // A runner on login1 that died: its lock stays, its mtime stops moving.
    await writeForeignLock(process.pid, 'login1');
    const t0 = Date.now();
    const taken = await acquireRepoLock(pipeDir, { wait: true, timeoutMs: 5000, leaseMs: 300 });
    expect(taken.ok).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    if (taken.ok) await taken.value.release();
  });

  it('a lock from another host last renewed long ago is stale at once', async () => {
    await writeForeignLock(process.pid, 'login1');
    const old = new Date(Date.now() - 60 * 60_000);
    await utimes(path.join(pipeDir, LOCK_FILE), old, old);
    const r = await acquireRepoLock(pipeDir, { wait: false, leaseMs: 1000 });
    expect(r.ok).toBe(true);
    if (r.ok) await r.value.release();
  });

  it('release does not delete a lock that is no longer ours', async () => {
    const r = await acquireRepoLock(pipeDir, { wait: false });
    if (!r.ok) throw new Error('setup');
    await writeForeignLock(process.pid); // someone replaced it (e.g. took it over by mistake)
    await r.value.release();
    expect(JSON.parse(await readFile(path.join(pipeDir, LOCK_FILE), 'utf8')).token).toBe('theirs');
  });
});
