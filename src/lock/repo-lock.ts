/**
 * One `pipe run` per repository at a time: two runs writing the same outputs,
 * cache entries and pipeline.lock would corrupt each other's view.
 *
 * The lock is `<repo>/.pipe/run.lock` holding the owner's pid, hostname, start
 * time, command and a random token. It is created atomically (a complete temp
 * file hard-linked into place, which fails if the lock exists, like O_EXCL but
 * never showing a half-written file; O_EXCL where hard links are unsupported).
 * A lock whose pid is dead on this host is taken over: the taker renames it to
 * a private name (only one taker's rename can succeed) and checks that what it
 * moved is the stale lock it inspected before deleting it.
 *
 * Across hosts (the repo on a shared filesystem, runners on several login
 * nodes) a pid means nothing, so the holder renews a lease: it touches the
 * lock file every HEARTBEAT_MS. A lock from another host is stale when its
 * mtime has not moved for LEASE_MS as measured by the waiter's own clock (so
 * clocks that disagree between hosts do not matter), or at once when its mtime
 * is older than LEASE_MS plus a generous allowance for clock skew.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { failure, type Failure } from '../failure.ts';
import { err, ok, type Result } from '../util/result.ts';

export const LOCK_FILE = 'run.lock';
const POLL_MS = 200;
/** How often a holder renews its lease (touches the lock file). */
export const HEARTBEAT_MS = 10_000;
/** A lock from another host whose lease was not renewed for this long is stale. */
export const LEASE_MS = 60_000;
/** Clock skew between hosts tolerated when judging a lease at first sight. */
const SKEW_MS = 5 * 60_000;

export interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
  command: string;
  token: string;
  /** Kernel start time of `pid` (Linux), so a recycled pid is not mistaken for the holder. */
  procStart?: string;
}

export interface RepoLockOptions {
  /** Test hooks: this host's name (default os.hostname()) and the lease length. */
  hostname?: string;
  leaseMs?: number;
  heartbeatMs?: number;
  /** Wait (poll) for a live holder to finish instead of failing with 'busy'. */
  wait: boolean;
  /** Give up waiting after this long ('busy'); default: wait forever. */
  timeoutMs?: number;
  /** Called once when we start waiting, with the holder's pid. */
  onWait?(holderPid: number): void;
}

/** Whether `pid` is a running process on this host (EPERM: exists but belongs to someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined off Linux or when gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `holder` still runs on this host. */
function holderAlive(holder: LockInfo): boolean {
  if (!pidAlive(holder.pid)) return false;
  if (holder.procStart === undefined) return true;
  const now = processStartTime(holder.pid);
  return now === undefined || now === holder.procStart;
}

async function readLock(file: string): Promise<{ raw: string; info: LockInfo | undefined } | undefined> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const info = JSON.parse(raw) as LockInfo;
    return { raw, info: typeof info?.pid === 'number' ? info : undefined };
  } catch {
    return { raw, info: undefined };
  }
}

/** Creates `file` with `content` only if it does not exist; false if it does. */
async function createExclusive(file: string, content: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content);
  try {
    await link(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
    // No hard links on this filesystem: plain O_EXCL.
    try {
      await writeFile(file, content, { flag: 'wx' });
      return true;
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e2;
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/**
 * Removes the lock at `file` if it still is exactly `staleRaw`. Renaming is
 * atomic, so of several processes taking over the same stale lock only one
 * moves it; one that moved a fresh lock instead (created by a faster taker
 * in between) puts it back.
 */
async function takeOver(file: string, staleRaw: string): Promise<void> {
  const grave = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(file, grave);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else took it
    throw e;
  }
  const moved = await readFile(grave, 'utf8').catch(() => undefined);
  if (moved === staleRaw) {
    await unlink(grave).catch(() => {});
    return;
  }
  // We moved a live lock: restore it (link fails only if yet another lock appeared, which then stands).
  await link(grave, file).catch(() => {});
  await unlink(grave).catch(() => {});
}

function busy(file: string, holder: LockInfo | undefined, waited: boolean): Failure {
  const who = holder
    ? `pid ${holder.pid}${holder.hostname !== os.hostname() ? ` on ${holder.hostname} (taken over if its lease is not renewed for ${LEASE_MS / 1000} s)` : ''}, started ${holder.startedAt}${holder.command ? `: ${holder.command}` : ''}`
    : 'a process that is still writing the lock file';
  return failure('busy', `another pipe run holds ${file} (${who})${waited ? ' and did not finish in time' : ''}`, {
    file,
    hint: holder
      ? `wait for it to finish (\`tail --pid=${holder.pid} -f /dev/null\`) or run again with --wait to queue behind it`
      : 'run again with --wait to queue behind it',
  });
}

/**
 * Takes the repo's run lock. Fails with 'busy' when a live process holds it
 * (unless `wait`), takes over a lock left by a dead process, and returns a
 * `release` that removes the lock only if it is still ours.
 */
export async function acquireRepoLock(
  pipeDir: string,
  o: RepoLockOptions,
): Promise<Result<{ release(): Promise<void>; /** A dead holder's lock was taken over: that process may have left temps. */ tookOver: boolean }, Failure>> {
  const file = path.join(pipeDir, LOCK_FILE);
  const host = o.hostname ?? os.hostname();
  const leaseMs = o.leaseMs ?? LEASE_MS;
  const info: LockInfo = {
    pid: process.pid,
    hostname: host,
    startedAt: new Date().toISOString(),
    command: process.argv.slice(1).join(' '),
    token: randomBytes(8).toString('hex'),
    procStart: processStartTime(process.pid),
  };
  const content = JSON.stringify(info, null, 2) + '\n';
  const deadline = o.timeoutMs !== undefined ? Date.now() + o.timeoutMs : Infinity;
  let waiting = false;
  // An unreadable lock (being written by a non-linking taker, or garbage) is
  // only declared stale after it stayed the same for this long.
  let unreadableSince: { raw: string; at: number } | undefined;
  // A foreign holder's lease as we saw it: its mtime, and when (our clock) we first saw that mtime.
  let lease: { raw: string; mtimeMs: number; seenAt: number } | undefined;
  let tookOver = false;

  try {
    await mkdir(pipeDir, { recursive: true });
    for (;;) {
      if (await createExclusive(file, content)) {
        const beat = setInterval(() => {
          const t = new Date();
          utimes(file, t, t).catch(() => {});
        }, o.heartbeatMs ?? HEARTBEAT_MS);
        beat.unref();
        return ok({
          tookOver,
          release: async () => {
            clearInterval(beat);
            const now = await readLock(file).catch(() => undefined);
            if (now?.info?.token === info.token) await unlink(file).catch(() => {});
          },
        });
      }
      const held = await readLock(file);
      if (!held) continue; // released between our attempt and the read: try again
      const holder = held.info;
      let stale = false;
      if (holder) {
        if (holder.hostname === host) stale = !holderAlive(holder);
        else {
          const mtimeMs = (await stat(file).catch(() => undefined))?.mtimeMs;
          if (mtimeMs === undefined) continue;
          if (!lease || lease.raw !== held.raw || lease.mtimeMs !== mtimeMs) lease = { raw: held.raw, mtimeMs, seenAt: Date.now() };
          stale = Date.now() - lease.seenAt > leaseMs || Date.now() - mtimeMs > leaseMs + SKEW_MS;
        }
      } else if (unreadableSince?.raw === held.raw) {
        stale = Date.now() - unreadableSince.at > 5000;
      } else {
        unreadableSince = { raw: held.raw, at: Date.now() };
      }
      if (stale) {
        await takeOver(file, held.raw);
        tookOver = true;
        continue;
      }
      if (!o.wait || Date.now() >= deadline) return err(busy(file, holder, waiting));
      if (!waiting) {
        waiting = true;
        if (holder) o.onWait?.(holder.pid);
      }
      await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
    }
  } catch (e) {
    return err(failure('io', `cannot take the run lock ${file}: ${(e as Error).message}`, { file, hint: 'check that the .pipe folder is writable' }));
  }
}
