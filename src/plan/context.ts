/**
 * What planning needs to know about a repo: the narrow view the planner owns,
 * so that `src/plan/` depends on nothing above it (the runner's `Session`
 * satisfies it structurally).
 */
import type { Graph } from '../graph.ts';
import type { LockFile } from '../lock/lockfile.ts';
import type { StatCache } from '../hash/stat-cache.ts';
import type { Digest } from '../hash/digest.ts';
import type { ManifestEntry } from '../hash/tree.ts';
import type { BuiltinStage } from '../stages/registry.ts';
import type { RunRecord, StoredRef } from '../cache/records.ts';
import type { HashMemo } from './hash-memo.ts';

/** The cache questions the planner asks: was this run before, and can its outputs be restored? */
export interface PlanCache {
  getRun(key: Digest): Promise<RunRecord | null>;
  hasPath(r: StoredRef): Promise<boolean>;
  /** A dep folder's manifest as last recorded, to say which of its files changed. */
  loadManifest(hash: Digest): Promise<ManifestEntry[] | null>;
}

export interface PlanContext {
  root: string;
  graph: Graph;
  builtins: Map<string, BuiltinStage>;
  lock: LockFile;
  statCache: StatCache;
  store: PlanCache;
  /** Path hashes remembered for this command. */
  hashes: HashMemo;
}
