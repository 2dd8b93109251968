/**
 * A stage key: the hash of one canonical record (wireit fingerprint habit).
 * The instance name is deliberately left out, so renaming a stage in
 * pipeline.yaml does not rerun it; the output paths are in, because the run
 * cache maps a key to the hashes of those paths.
 */
import type { StageInstance } from '../model.ts';
import { canonicalEncoding, hashBytes, hashRecord, type Digest } from '../hash/digest.ts';

/** Bump when the meaning of a key changes, to invalidate every run cache entry. */
export const KEY_VERSION = 1;

export interface DepHash {
  hash: Digest;
  size: number;
  files?: number;
}

export function stageKey(stage: StageInstance, code: Digest, deps: Record<string, DepHash>): Digest {
  return hashRecord({
    v: KEY_VERSION,
    kind: stage.kind,
    uses: stage.uses ?? null,
    cmd: stage.cmd ?? null,
    code,
    params: stage.params,
    deps: Object.keys(deps)
      .sort()
      .map((p) => [p, deps[p]!.hash]),
    outs: stage.outs.map((o) => [o.path, o.cache]),
    metrics: stage.metrics,
    map: stage.map ? [stage.map.in, stage.map.out, stage.map.glob] : null,
    env: stage.env,
    wdir: stage.wdir,
  });
}

/**
 * Params as they matter to one item: the item folder's own path (`map.in`,
 * `map.out`) is left out, so moving or renaming a data folder keeps its items cached.
 */
function itemParams(params: Record<string, unknown>, map: { in: string; out: string } | undefined): Record<string, unknown> {
  if (!map) return params;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = v === map.in ? '<map.in>' : v === map.out ? '<map.out>' : v;
  return out;
}

/** The record an item key hashes. */
function itemRecord(stage: StageInstance, code: Digest, rel: string, inputHash: string, otherDeps: Record<string, DepHash>): Record<string, unknown> {
  const cmd = stage.cmd && stage.map ? stage.cmd.split(stage.map.in).join('<map.in>').split(stage.map.out).join('<map.out>') : stage.cmd;
  return {
    v: KEY_VERSION,
    item: true,
    uses: stage.uses ?? null,
    cmd: cmd ?? null,
    code,
    params: itemParams(stage.params, stage.map),
    env: stage.env,
    rel,
    input: inputHash,
    // Anything else the stage reads (convert's paired images, a cmd's script)
    // may change an item's output, so it is part of every item's key.
    others: Object.keys(otherDeps)
      .sort()
      .map((p) => [p, otherDeps[p]!.hash]),
  };
}

/** Key of one item of a per-item stage: code, params, the item's path and content. */
export function itemKey(stage: StageInstance, code: Digest, rel: string, inputHash: Digest, otherDeps: Record<string, DepHash> = {}): Digest {
  return hashRecord(itemRecord(stage, code, rel, inputHash, otherDeps));
}

// Stand-ins no real path or digest contains (NUL), located in the encoding to split it.
const REL = '\0rel\0';
const INPUT = '\0input\0';

/**
 * itemKey for every item of one stage run: all of the record but the item's
 * path and content hash is encoded once, so each key costs two string
 * encodings and a hash instead of encoding params and all (at 100,000 items,
 * that was over a second).
 */
export function itemKeyer(stage: StageInstance, code: Digest, otherDeps: Record<string, DepHash> = {}): (rel: string, inputHash: Digest) => Digest {
  const enc = canonicalEncoding(itemRecord(stage, code, REL, INPUT, otherDeps));
  const r = canonicalEncoding(REL);
  const i = canonicalEncoding(INPUT);
  const at = [enc.indexOf(r), enc.indexOf(i)];
  // Should params ever hold a stand-in, the plain way gives the same keys.
  if (at.some((k, n) => k < 0 || enc.indexOf(n ? i : r, k + 1) >= 0)) return (rel, h) => itemKey(stage, code, rel, h, otherDeps);
  const [rAt, iAt] = at as [number, number];
  if (iAt < rAt) {
    const a = enc.slice(0, iAt);
    const b = enc.slice(iAt + i.length, rAt);
    const c = enc.slice(rAt + r.length);
    return (rel, h) => hashBytes(a + canonicalEncoding(h) + b + canonicalEncoding(rel) + c);
  }
  const a = enc.slice(0, rAt);
  const b = enc.slice(rAt + r.length, iAt);
  const c = enc.slice(iAt + i.length);
  return (rel, h) => hashBytes(a + canonicalEncoding(rel) + b + canonicalEncoding(h) + c);
}
