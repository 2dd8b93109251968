/**
 * Putting stored outputs back: a whole file or folder (built at a temp
 * sibling, swapped in only when every object verified), or the files of one
 * item next to other items' files. A damaged object is deleted from the cache
 * and reported, never silently used.
 */
import { mkdir, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { failure, type Failure } from '../failure.ts';
import { err, ok, type Result } from '../util/result.ts';
import type { ManifestEntry } from '../hash/tree.ts';
import { tempIsStale, tempName } from '../hash/temp-name.ts';
import { replacePath } from './atomic.ts';
import { readdirOrEmpty } from './layout.ts';
import type { ObjectStore } from './objects.ts';
import type { StoredRef } from './records.ts';

function combine(failures: Failure[], what: string): Failure {
  if (failures.length === 1) return failures[0]!;
  const first = failures[0]!;
  return { ...first, message: `${failures.length} cache objects for ${what} are missing or corrupt; first: ${first.message}`, causes: failures };
}

/** Removes temps a killed earlier run left next to `destAbs`. */
async function cleanSiblingTemps(destAbs: string): Promise<void> {
  const prefix = path.basename(destAbs) + '.pipe-tmp';
  for (const d of await readdirOrEmpty(path.dirname(destAbs))) {
    if (d.name.startsWith(prefix) && tempIsStale(d.name)) {
      await rm(path.join(path.dirname(destAbs), d.name), { recursive: true, force: true });
    }
  }
}

/** Copies the objects of `files` into `root` (which need not exist), verifying each. */
async function materialize(objects: ObjectStore, files: ManifestEntry[], root: string, shownRoot: string): Promise<Failure | undefined> {
  await mkdir(root, { recursive: true });
  const dirs = new Set<string>();
  for (const e of files) {
    const i = e.path.lastIndexOf('/');
    if (i > 0) dirs.add(e.path.slice(0, i));
  }
  for (const d of [...dirs].sort()) await mkdir(path.join(root, ...d.split('/')), { recursive: true });
  const limit = pLimit(objects.concurrency);
  const failures = (
    await Promise.all(
      files.map((e) => limit(() => objects.copyOut(e.hash, e.size, path.join(root, ...e.path.split('/')), path.join(shownRoot, ...e.path.split('/'))))),
    )
  ).filter((f): f is Failure => f !== undefined);
  return failures.length ? combine(failures, shownRoot) : undefined;
}

/**
 * Restores a stored file or folder to `destAbs`. It is built at a temp
 * sibling, every object re-hashed as it is copied; only when all is well is
 * the old `destAbs` swapped out. On failure `destAbs` is untouched, the bad
 * objects are deleted from the cache, and a 'corrupt-cache' Failure says which.
 */
export async function restorePath(objects: ObjectStore, r: StoredRef, destAbs: string): Promise<Result<void, Failure>> {
  const parent = path.dirname(destAbs);
  await mkdir(parent, { recursive: true });
  await cleanSiblingTemps(destAbs);
  const tmp = tempName(destAbs);
  try {
    if (r.kind === 'file') {
      const f = await objects.copyOut(r.hash, r.size ?? Infinity, tmp, destAbs);
      if (f) return err(f);
    } else {
      const m = await objects.loadManifest(r.hash);
      if (!m) {
        return err(
          failure('corrupt-cache', `the cached folder manifest ${r.hash} for ${destAbs} is missing or damaged`, {
            file: objects.layout.manifestPath(r.hash),
            hint: 'run the stage again to rebuild it (pipe run)',
          }),
        );
      }
      const f = await materialize(objects, m, tmp, destAbs);
      if (f) return err(f);
    }
    await replacePath(tmp, destAbs);
    return ok(undefined);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Copies an item's output files from the cache into `destDir`, each via a
 * temp name and rename, verifying every object. Files of other items in
 * `destDir` are left alone.
 */
export async function materializeItemFiles(objects: ObjectStore, files: ManifestEntry[], destDir: string): Promise<Result<void, Failure>> {
  const limit = pLimit(objects.concurrency);
  const failures = (
    await Promise.all(
      files.map((e) =>
        limit(async () => {
          const dest = path.join(destDir, ...e.path.split('/'));
          await mkdir(path.dirname(dest), { recursive: true });
          const tmp = tempName(dest);
          const f = await objects.copyOut(e.hash, e.size, tmp, dest);
          if (f) return f;
          await rename(tmp, dest).catch(async (x: unknown) => {
            await unlink(tmp).catch(() => {});
            throw x;
          });
          return undefined;
        }),
      ),
    )
  ).filter((f): f is Failure => f !== undefined);
  return failures.length ? err(combine(failures, destDir)) : ok(undefined);
}
