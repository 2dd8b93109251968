/**
 * A stage key: the hash of one canonical record (wireit fingerprint habit).
 * The instance name is deliberately left out, so renaming a stage in
 * pipeline.yaml does not rerun it; the output paths are in, because the run
 * cache maps a key to the hashes of those paths.
 */
import type { StageInstance } from '../model.ts';
import { hashRecord, type Digest } from '../hash/digest.ts';

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

/** Key of one item of a per-item stage: code, params, the item's path and content. */
export function itemKey(stage: StageInstance, code: Digest, rel: string, inputHash: Digest, otherDeps: Record<string, DepHash> = {}): Digest {
  const cmd = stage.cmd && stage.map ? stage.cmd.split(stage.map.in).join('<map.in>').split(stage.map.out).join('<map.out>') : stage.cmd;
  return hashRecord({
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
  });
}
