/**
 * Everything a command needs about one repo, loaded once: the pipeline, its
 * graph, the built-in stages, the lock, the stat cache and the cache store.
 * Side effects come in through this one object (DESIGN habit 10).
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { toFailure, type Failure } from '../failure.ts';
import type { Result } from '../util/result.ts';
import { err, ok } from '../util/result.ts';
import { loadBuiltins, type BuiltinStage } from '../stages/registry.ts';
import { parsePipelineText } from '../config/load.ts';
import { lookupFromRegistry } from '../config/builtins.ts';
import { buildGraph, type Graph } from '../graph.ts';
import { readLock, type LockFile } from '../lock/lockfile.ts';
import { StatCache } from '../hash/stat-cache.ts';
import { FolderRecords } from '../hash/folder-records.ts';
import { CacheStore } from '../cache/store.ts';
import { initHasher } from '../hash/digest.ts';
import { HashMemo } from '../plan/hash-memo.ts';

export interface Session {
  root: string;
  pipelineFile: string;
  lockFile: string;
  /** `.pipe/`: run lock, temp folders, stat cache, stage work folders. Git-ignored. */
  pipeDir: string;
  graph: Graph;
  builtins: Map<string, BuiltinStage>;
  lock: LockFile;
  statCache: StatCache;
  /** Per-folder records of the files last hashed (the no-op fast path). */
  records: FolderRecords;
  store: CacheStore;
  /** Path hashes remembered for this command; invalidated where stages write. */
  hashes: HashMemo;
}

export interface SessionOptions {
  /** Folder to start looking for pipeline.yaml in (walks up like git). */
  cwd: string;
  /** Explicit pipeline file (`-f`). */
  file?: string;
}

/** Finds pipeline.yaml from cwd upwards. */
export function findPipelineFile(cwd: string): string | undefined {
  let dir = path.resolve(cwd);
  for (;;) {
    for (const name of ['pipeline.yaml', 'pipeline.yml']) {
      const f = path.join(dir, name);
      if (existsSync(f)) return f;
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * The built-in stage names a pipeline file mentions (`uses: x`), to load only
 * those; undefined (load all) when a name is computed from a var.
 */
export function usedStageNames(text: string): string[] | undefined {
  const names: string[] = [];
  for (const m of text.matchAll(/\buses:\s*["']?([^\s"',}\]#]+)/g)) {
    if (m[1]!.includes('$')) return undefined;
    names.push(m[1]!);
  }
  return names;
}

export async function openSession(o: SessionOptions): Promise<Result<Session, Failure[]>> {
  const pipelineFile = o.file ? path.resolve(o.cwd, o.file) : findPipelineFile(o.cwd);
  if (!pipelineFile || !existsSync(pipelineFile)) {
    return err([
      {
        kind: 'io',
        message: o.file ? `${o.file}: no such file` : `no pipeline.yaml in ${o.cwd} or any parent folder`,
        hint: 'create a pipeline.yaml (see README.md) or pass -f <file>',
      },
    ]);
  }
  const root = path.dirname(pipelineFile);
  await initHasher();
  const text = await readFile(pipelineFile, 'utf8');
  const builtins = await loadBuiltins(usedStageNames(text));
  const loaded = parsePipelineText(text, pipelineFile, lookupFromRegistry(builtins));
  if (!loaded.ok) return loaded;
  const graph = buildGraph(loaded.value);
  if (!graph.ok) return graph;
  const lockFile = path.join(root, 'pipeline.lock');
  const lock = await readLock(lockFile);
  if (!lock.ok) return err([lock.error]);
  const pipeDir = path.join(root, '.pipe');
  const statCache = await StatCache.load(path.join(pipeDir, 'stat-cache.json'));
  const store = new CacheStore(path.join(root, 'cache'));
  const records = new FolderRecords(path.join(pipeDir, 'folders'));
  const hashes = new HashMemo(root, statCache, records);
  return ok({ root, pipelineFile, lockFile, pipeDir, graph: graph.value, builtins, lock: lock.value, statCache, records, store, hashes });
}

/**
 * Saves what this command learnt about file hashes (the stat cache and the
 * folder records). These only save time: failing to write them (a full disk)
 * must not fail the command or hide its result, so the failure is returned
 * for the caller to show as a warning, never thrown.
 */
export async function saveHashCaches(s: Pick<Session, 'statCache' | 'records'>): Promise<Failure | undefined> {
  try {
    await s.statCache.save();
    await s.records.save();
    return undefined;
  } catch (e) {
    const f = toFailure(e);
    return {
      ...f,
      kind: 'io',
      message: `could not save pipe's hash caches in .pipe/ (${f.message}); the next command hashes those files again`,
      hint: f.kind === 'io' ? f.hint : 'check that .pipe/ is a writable folder',
    };
  }
}
