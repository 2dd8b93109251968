/**
 * Publishing files atomically: write to a temp name in the same folder, then
 * rename. A reader (or a later run after a SIGKILL) sees the old file, the new
 * file, or a recognisable temp that is ignored and cleaned — never half a file
 * under the real name.
 */
import { open, rename, rm, unlink, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { tempName } from '../hash/temp-name.ts';

export interface AtomicWriteOptions {
  /**
   * fsync the temp file before the rename (and the folder after), so the new
   * content survives a power cut. Worth it for pipeline.lock; the cache can
   * skip it, since a damaged record there only costs a rerun.
   */
  fsync?: boolean;
}

/** Writes `data` to `file` via a temp sibling and rename; creates the folder if needed. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = tempName(file);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      if (opts.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  if (opts.fsync) await fsyncDir(dir);
}

/** Makes a rename in `dir` durable; silently skipped where folders cannot be opened for sync. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not supported on every platform/filesystem; durability is best effort there.
  }
}

/**
 * Puts the fully built `tmp` (file or folder) at `dest`: the old `dest` is
 * renamed away first, the new one renamed in, then the old one deleted. If the
 * second rename fails the old `dest` is put back, so `dest` is never lost.
 */
export async function replacePath(tmp: string, dest: string): Promise<void> {
  let old: string | undefined = tempName(dest, 'old');
  try {
    await rename(dest, old);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    old = undefined;
  }
  try {
    await rename(tmp, dest);
  } catch (e) {
    if (old) await rename(old, dest).catch(() => {});
    throw e;
  }
  if (old) await rm(old, { recursive: true, force: true });
}
