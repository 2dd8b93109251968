/**
 * Decides what to do with one stage — nothing, restore its outputs from the
 * cache, or run it — and why, by comparing its current key, deps, params,
 * code and outputs with its lock entry and the run cache.
 */
import path from 'node:path';
import type { StageInstance } from '../model.ts';
import { resolveInsideRepo } from '../util/inside-repo.ts';
import type { Reason, StageAction } from '../events.ts';
import type { Failure } from '../failure.ts';
import type { Result } from '../util/result.ts';
import { err, ok } from '../util/result.ts';
import type { PlanContext } from './context.ts';
import type { PathHash } from '../hash/tree.ts';
import { diffManifests } from '../hash/tree.ts';
import type { Digest } from '../hash/digest.ts';
import type { LockEntry, LockOut } from '../lock/lockfile.ts';
import type { RunRecord } from '../cache/records.ts';
import { codeHashFor, type CodeHash } from './code-hash.ts';
import { stageKey, type DepHash } from './fingerprint.ts';
import { diffParams } from './params-diff.ts';
import { trackedOuts } from './outputs.ts';

export interface StageAssessment {
  stage: StageInstance;
  key: Digest;
  code: CodeHash;
  deps: Record<string, PathHash>;
  outs: Record<string, PathHash | null>;
  action: StageAction;
  reasons: Reason[];
  /** The run cache record for `key`, when its outputs are all in the cache. */
  cached?: RunRecord;
}

export interface AssessOptions {
  force: boolean;
  /** Upstream stages that will run (or ran) in this invocation. */
  upstreamChanged: string[];
  /**
   * true while planning (`pipe status`, dry runs): a dep an upstream stage
   * has yet to produce is a reason, not an error.
   */
  planning: boolean;
}

export function lockOutOf(h: PathHash): LockOut {
  return h.kind === 'dir' ? { hash: h.hash, size: h.size, files: h.files } : { hash: h.hash, size: h.size };
}

type FileChanges = { added: string[]; removed: string[]; modified: string[] };

/**
 * Which files of a dep folder changed, by (old hash, new hash), per command:
 * `pipe run` describes the same change when planning and again when the stage
 * runs, and at 100,000 files each description loads and compares two manifests.
 */
const describedChanges = new WeakMap<PlanContext['hashes'], Map<string, Promise<FileChanges>>>();

function fileChanges(s: PlanContext, before: Digest, now: PathHash & { kind: 'dir' }): Promise<FileChanges> {
  let memo = describedChanges.get(s.hashes);
  if (!memo) describedChanges.set(s.hashes, (memo = new Map()));
  const k = `${before}:${now.hash}`;
  let d = memo.get(k);
  if (!d) {
    d = s.store.loadManifest(before).then((old) => (old ? diffManifests(old, now.manifest) : { added: [], removed: [], modified: [] }));
    memo.set(k, d);
  }
  return d;
}

async function depReasons(s: PlanContext, entry: LockEntry, deps: Record<string, PathHash>): Promise<Reason[]> {
  const reasons: Reason[] = [];
  for (const [p, h] of Object.entries(deps)) {
    const before = entry.deps[p];
    if (!before) {
      reasons.push({ kind: 'dep-added', path: p });
      continue;
    }
    if (before.hash === h.hash) continue;
    const d: FileChanges = h.kind === 'dir' && before.files !== undefined ? await fileChanges(s, before.hash, h) : { added: [], removed: [], modified: [] };
    reasons.push({ kind: 'dep-changed', path: p, ...d });
  }
  for (const p of Object.keys(entry.deps)) if (!(p in deps)) reasons.push({ kind: 'dep-removed', path: p });
  return reasons;
}

/** Hashes every dep of a stage; missing deps are returned separately. */
export async function hashDeps(
  s: PlanContext,
  stage: StageInstance,
): Promise<{ deps: Record<string, PathHash>; missing: string[] }> {
  const deps: Record<string, PathHash> = {};
  const missing: string[] = [];
  for (const d of stage.deps) {
    const h = await s.hashes.get(d);
    if (h) deps[d] = h;
    else missing.push(d);
  }
  return { deps, missing };
}

export async function hashOuts(s: PlanContext, stage: StageInstance): Promise<Record<string, PathHash | null>> {
  const outs: Record<string, PathHash | null> = {};
  for (const o of trackedOuts(stage)) outs[o.path] = await s.hashes.get(o.path);
  return outs;
}

/** A run record whose every cached output is present in the cache. */
async function usableRunRecord(s: PlanContext, stage: StageInstance, key: Digest): Promise<RunRecord | undefined> {
  const rec = await s.store.getRun(key);
  if (!rec) return undefined;
  for (const o of trackedOuts(stage)) {
    const r = rec.outs[o.path];
    if (!o.cache) return undefined; // cannot be restored, must be recomputed
    if (!r || !(await s.store.hasPath(r))) return undefined;
  }
  return rec;
}

export async function assessStage(
  s: PlanContext,
  stage: StageInstance,
  o: AssessOptions,
): Promise<Result<StageAssessment, Failure>> {
  // An out reached through a symlinked folder that leaves the repo is refused before anything runs or is restored.
  for (const t of trackedOuts(stage)) {
    const inside = resolveInsideRepo(s.root, t.path, path.basename(stage.span?.file ?? 'pipeline.yaml'));
    if (!inside.ok) return err({ ...inside.error, stage: stage.name, span: stage.span });
  }
  const code = await codeHashFor(stage, s.builtins, s.root, s.statCache);
  const { deps, missing } = await hashDeps(s, stage);
  if (missing.length && !o.planning) {
    const dep = missing[0]!;
    const producer = s.graph.producerOf(dep);
    return err({
      kind: 'missing-dep',
      stage: stage.name,
      message: producer
        ? `stage ${stage.name}: dep ${dep} is missing although stage ${producer} should have produced it`
        : `stage ${stage.name}: dep ${dep} does not exist`,
      hint: producer ? `check that ${producer} writes ${dep}` : `create ${dep}, or fix the path in pipeline.yaml`,
      span: stage.spans[`deps.${stage.deps.indexOf(dep)}`] ?? stage.span,
    });
  }
  const depHashes: Record<string, DepHash> = {};
  for (const [p, h] of Object.entries(deps)) depHashes[p] = h;
  const key = stageKey(stage, code.hash, depHashes);
  const outs = await hashOuts(s, stage);
  const entry = s.lock.stages[stage.name];

  const reasons: Reason[] = [];
  if (o.force) reasons.push({ kind: 'forced' });
  // While planning, an upstream stage that will run makes this key provisional;
  // once upstream has finished, its effect shows in the dep hashes instead.
  if (o.planning) for (const up of o.upstreamChanged) reasons.push({ kind: 'upstream-changed', stage: up });
  // A dep that is missing now but was recorded last time has been removed; one
  // never recorded is simply not produced yet (its stage's state says why).
  for (const m of missing) if (entry?.deps[m]) reasons.push({ kind: 'dep-removed', path: m });
  if (!entry) {
    reasons.push({ kind: 'never-run' });
  } else if (entry.key !== key) {
    const before = reasons.length;
    if ((entry.cmd ?? null) !== (stage.cmd ?? null) && entry.cmd !== undefined && stage.cmd !== undefined) {
      reasons.push({ kind: 'command-changed', old: entry.cmd, new: stage.cmd });
    } else if (entry.code !== code.hash) {
      reasons.push({ kind: 'code-changed', what: stage.kind === 'uses' ? `stage '${stage.uses}'` : Object.keys(code.files).join(', ') || 'command' });
    }
    for (const c of diffParams(entry.params, stage.params)) reasons.push({ kind: 'param-changed', ...c });
    reasons.push(...(await depReasons(s, entry, deps)));
    // The key also covers outs, env, wdir and the key format itself.
    if (reasons.length === before) reasons.push({ kind: 'code-changed', what: 'stage definition (outs, env, wdir or pipe version)' });
  }
  const keyMatchesLock = entry?.key === key;
  if (entry && keyMatchesLock) {
    for (const t of trackedOuts(stage)) {
      const cur = outs[t.path];
      const rec = entry.outs[t.path];
      if (!cur) reasons.push({ kind: 'out-missing', path: t.path });
      else if (!rec || rec.hash !== cur.hash) reasons.push({ kind: 'out-modified', path: t.path });
    }
  }
  if (reasons.length === 0) return ok({ stage, key, code, deps, outs, action: 'up-to-date', reasons });
  // Something differs: outputs may still come from the run cache unless forced
  // or an upstream stage has yet to run (then the key is not final).
  const final = !o.planning || o.upstreamChanged.length === 0;
  const cached = !o.force && final && missing.length === 0 ? await usableRunRecord(s, stage, key) : undefined;
  return ok({ stage, key, code, deps, outs, action: cached ? 'restore' : 'run', reasons, ...(cached ? { cached } : {}) });
}
