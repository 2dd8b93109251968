/**
 * Turning a stage's finished outputs into cache objects, a run record and a
 * lock entry: commit last, after the outputs exist (DESIGN habit 5).
 */
import path from 'node:path';
import { stat } from 'node:fs/promises';
import type { StageInstance } from '../model.ts';
import type { Failure } from '../failure.ts';
import type { Result } from '../util/result.ts';
import { err, ok } from '../util/result.ts';
import type { Session } from './session.ts';
import type { PathHash } from '../hash/tree.ts';
import { hashPath } from '../hash/tree.ts';
import { StatCache } from '../hash/stat-cache.ts';
import { FolderRecords, joinRels } from '../hash/folder-records.ts';
import type { LockEntry } from '../lock/lockfile.ts';
import type { OutRecord, RunRecord } from '../cache/records.ts';
import type { StageAssessment } from '../plan/assess.ts';
import { lockOutOf } from '../plan/assess.ts';
import { trackedOuts } from '../plan/outputs.ts';
import { swapIn } from './workspace.ts';
import type { Merged, OutOverlay } from './out-overlay.ts';
import { Slicer } from '../util/slicer.ts';

export function outRecordOf(h: PathHash): OutRecord {
  return h.kind === 'dir' ? { kind: 'dir', hash: h.hash, size: h.size, files: h.files } : { kind: 'file', hash: h.hash, size: h.size };
}

export function lockEntryFor(a: StageAssessment, outs: Record<string, PathHash>, durationMs: number, ranAt: Date): LockEntry {
  const stage = a.stage;
  const entry: LockEntry = {
    key: a.key,
    code: a.code.hash,
    params: stage.params,
    deps: Object.fromEntries(Object.entries(a.deps).map(([p, h]) => [p, lockOutOf(h)])),
    outs: Object.fromEntries(Object.entries(outs).map(([p, h]) => [p, lockOutOf(h)])),
    durationMs: Math.round(durationMs),
    ranAt: ranAt.toISOString(),
  };
  if (stage.uses) entry.uses = stage.uses;
  if (stage.cmd) entry.cmd = stage.cmd;
  return entry;
}

/**
 * Files just put in place whose hashes are known (restored from the cache,
 * verified on the way): record them in the stat cache, or as the folder's
 * record, instead of reading everything again next time.
 */
export async function rememberHashes(s: Session, abs: string, h: PathHash): Promise<void> {
  if (h.kind === 'file') {
    const st = await stat(abs);
    s.statCache.set(abs, st, h.hash);
    return;
  }
  const at = Date.now();
  const stats = await Promise.all(h.manifest.map((m) => stat(path.join(abs, ...m.path.split('/'))).catch(() => null)));
  if (stats.some((st) => !st)) return s.records.delete(abs); // changed under us: the next look hashes it
  s.records.set(abs, {
    at,
    hash: h.hash,
    size: h.size,
    rels: joinRels(h.manifest.map((m) => m.path)),
    sizes: stats.map((st) => st!.size),
    mtimes: stats.map((st) => st!.mtimeMs),
    inos: stats.map((st) => st!.ino),
    hashes: h.manifest.map((m) => m.hash).join(''),
  });
}

/** A stage that finished without one of its outputs. */
function missingOut(stage: StageInstance, rel: string, who: 'the stage' | 'the command'): Failure {
  return {
    kind: 'missing-out',
    stage: stage.name,
    message: `stage ${stage.name} finished without writing its output ${rel}`,
    hint: `${who} must create every path listed in outs/metrics`,
    span: stage.span,
  };
}

/**
 * Hashes and stores the outputs a built-in stage wrote to temp paths, then
 * swaps them into place. Returns the final out hashes.
 */
export async function commitTempOuts(
  s: Session,
  stage: StageInstance,
  redirects: { rel: string; abs: string }[],
  trashDir: string,
  /** Hashes already known for files in the temp outputs (per-item stages seed it). */
  tempStat?: StatCache,
  /** A per-item stage's output folder, updated in place when it keeps files (see out-overlay.ts). */
  overlay?: { rel: string; out: OutOverlay },
): Promise<Result<Record<string, PathHash>, Failure>> {
  const scratchCache = tempStat ?? (await StatCache.load(path.join(trashDir, 'no-stat-cache.json')));
  // The temp folders' records, valid for the final paths after the rename (same inodes, sizes, mtimes).
  const scratchRecords = new FolderRecords(null);
  const hashes: Record<string, PathHash> = {};
  const merged = new Map<string, Merged>();
  for (const r of redirects) {
    const h = await hashPath(r.abs, { statCache: scratchCache, records: scratchRecords });
    if (!h) return err(missingOut(stage, r.rel, 'the stage'));
    if (overlay?.rel === r.rel && overlay.out.kept > 0 && h.kind === 'dir') {
      const m = overlay.out.merge(h, scratchRecords.get(r.abs)!);
      merged.set(r.rel, m);
      hashes[r.rel] = m.hash;
    } else hashes[r.rel] = h;
  }
  for (const t of trackedOuts(stage)) {
    if (!t.cache) continue;
    const abs = redirects.find((r) => r.rel === t.path)!.abs;
    const m = merged.get(t.path);
    // An updated folder: only its new files can be missing from the cache (the kept ones came from it).
    if (m) await s.store.storePath(abs, m.fresh, m.hash);
    else await s.store.storePath(abs, hashes[t.path]!);
  }
  const slicer = new Slicer();
  for (const r of redirects) {
    const dest = path.join(s.root, r.rel);
    const m = merged.get(r.rel);
    if (m) {
      await overlay!.out.apply(r.abs, m, slicer);
      s.records.set(dest, m.record);
      continue;
    }
    await swapIn(r.abs, dest, trashDir);
    const rec = scratchRecords.get(r.abs);
    if (rec) s.records.set(dest, rec);
    else await rememberHashes(s, dest, hashes[r.rel]!);
  }
  return ok(hashes);
}

/** Hashes and stores outputs a `cmd:` stage wrote in place. */
export async function commitInPlaceOuts(s: Session, stage: StageInstance): Promise<Result<Record<string, PathHash>, Failure>> {
  const hashes: Record<string, PathHash> = {};
  for (const t of trackedOuts(stage)) {
    const abs = path.join(s.root, t.path);
    const h = await hashPath(abs, { statCache: s.statCache, records: s.records });
    if (!h) return err(missingOut(stage, t.path, 'the command'));
    if (t.cache) await s.store.storePath(abs, h);
    hashes[t.path] = h;
  }
  return ok(hashes);
}

export async function saveRunRecord(s: Session, a: StageAssessment, outs: Record<string, PathHash>, durationMs: number): Promise<void> {
  // Dep folders' manifests let `pipe status` name the files that changed next time.
  for (const h of Object.values(a.deps)) if (h.kind === 'dir') await s.store.saveManifest(h);
  const rec: RunRecord = {
    stage: a.stage.name,
    outs: Object.fromEntries(Object.entries(outs).map(([p, h]) => [p, outRecordOf(h)])),
    durationMs: Math.round(durationMs),
    createdAt: new Date().toISOString(),
  };
  await s.store.putRun(a.key, rec);
}
