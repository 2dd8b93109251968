/**
 * Where things live in the cache folder (usually `<repo>/cache`):
 *
 *   objects/<2 hex>/<14 hex>     file contents, named by their xxhash64
 *   manifests/<hash>.json        folder manifests, named by the folder's Merkle hash
 *   runs/<stage key>.json        what a stage run produced (its outs' hashes)
 *   items/<2 hex>/<key>.json     what one item of a per-item stage produced
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Digest } from '../hash/digest.ts';

export class CacheLayout {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  objectPath(hash: Digest): string {
    return path.join(this.dir, 'objects', hash.slice(0, 2), hash.slice(2));
  }

  manifestPath(hash: Digest): string {
    return path.join(this.dir, 'manifests', `${hash}.json`);
  }

  runPath(key: Digest): string {
    return path.join(this.dir, 'runs', `${key}.json`);
  }

  itemPath(key: Digest): string {
    return path.join(this.dir, 'items', key.slice(0, 2), `${key}.json`);
  }
}

export function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A record file's text, or null when it does not exist (a cache miss, not an error). */
export async function readTextOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if (isMissing(e)) return null;
    throw e;
  }
}

/** A folder's entries, or none when the folder does not exist. */
export async function readdirOrEmpty(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}
