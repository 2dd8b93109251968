/**
 * Temp names. Everything pipe writes goes to a temp name in the same folder
 * first and is renamed into place, so a SIGKILL never leaves a half file under
 * a real name. The names are recognisable (`<target>.pipe-tmp-<pid>-<rand>`):
 * hashing ignores them and the cache cleans those whose process is gone.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export const TEMP_MARK = '.pipe-tmp';

/** A fresh temp name next to `target` (same folder, so rename is atomic). */
export function tempName(target: string, tag = ''): string {
  const rand = randomBytes(4).toString('hex');
  return `${target}${TEMP_MARK}${tag ? '-' + tag : ''}-${process.pid}-${rand}`;
}

/** true for a file or folder name pipe uses as a temp. */
export function isTempName(name: string): boolean {
  return path.basename(name).includes(TEMP_MARK);
}

/** The pid that created a temp name, if it follows the `-<pid>-<rand>` pattern. */
export function tempPid(name: string): number | undefined {
  const m = /-(\d+)-[0-9a-z]+$/.exec(path.basename(name));
  return m ? Number(m[1]) : undefined;
}

/**
 * true when a temp's writer is certainly gone, so the temp can be deleted
 * (never another live process's half-written file; ours only if `ownToo`).
 */
export function tempIsStale(name: string, ownToo = false): boolean {
  const pid = tempPid(name);
  if (pid === undefined) return true;
  if (pid === process.pid) return ownToo;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
