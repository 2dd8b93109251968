/**
 * A remote that is a folder: a lab NAS or NFS mount. Files are copied to a
 * temp name in the target folder and renamed, which is atomic on one
 * filesystem (NFS included), so readers never see half an object.
 */
import { constants as fsc, statSync } from 'node:fs';
import { copyFile, mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { failure, FailureError } from '../failure.ts';
import { tempName } from '../hash/temp-name.ts';
import type { RemoteStore } from './types.ts';
import { keyDir } from './types.ts';

export async function openFsRemote(name: string, dir: string, jobs = 8): Promise<RemoteStore> {
  const label = `${name} (${dir})`;
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw Object.assign(new Error(`${dir} is not a folder`), { code: 'ENOTDIR' });
  } catch (e) {
    throw new FailureError(
      failure('remote', `remote ${label} cannot be reached: ${(e as Error).message}`, {
        file: dir,
        hint: 'is the share mounted? Create the folder once (mkdir -p) if this is a new remote',
      }),
    );
  }
  const at = (key: string) => path.join(dir, ...key.split('/'));
  const made = new Set<string>();
  const copy = async (from: string, to: string): Promise<void> => {
    const d = path.dirname(to);
    if (!made.has(d)) {
      await mkdir(d, { recursive: true });
      made.add(d);
    }
    const tmp = tempName(to);
    try {
      await copyFile(from, tmp, fsc.COPYFILE_FICLONE);
      await rename(tmp, to);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  };
  const wrap = async (what: string, f: () => Promise<void>): Promise<void> => {
    try {
      await f();
    } catch (e) {
      if (e instanceof FailureError) throw e;
      throw new FailureError(failure('remote', `remote ${label}: ${what} failed: ${(e as Error).message}`, { file: dir }));
    }
  };
  return {
    label,
    jobs,
    async present(keys) {
      // Synchronous stats: on a local or NFS folder a thread-pool round trip per key costs more than the stat.
      const have = new Set<string>();
      const dirs = new Map<string, boolean>();
      for (const k of keys) {
        const d = keyDir(k);
        if (!dirs.has(d)) dirs.set(d, statSync(at(d), { throwIfNoEntry: false }) !== undefined);
        if (dirs.get(d) && statSync(at(k), { throwIfNoEntry: false })) have.add(k);
      }
      return have;
    },
    upload: (batch, onDone) =>
      wrap('upload', async () => {
        for (const t of batch) {
          await copy(t.local, at(t.key));
          onDone(t);
        }
      }),
    download: (batch, onDone) =>
      wrap('download', async () => {
        for (const t of batch) {
          try {
            await copyFile(at(t.key), t.local);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
            throw e;
          }
          onDone(t);
        }
      }),
    async close() {},
  };
}
