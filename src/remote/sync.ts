/**
 * Push and pull between the local cache and a remote: work out what the lock
 * (or the named stages) refers to — run records, folder manifests, file
 * objects — ask the remote which it has, and move only the rest, in batches,
 * `remote.jobs` at a time, reporting progress as typed events.
 *
 * Order keeps the remote consistent for readers: objects first, then
 * manifests, then run records, so a run record on the remote implies what it
 * names was uploaded before it. Pulled files land in temp names inside the
 * local cache and are renamed in only after their content hash is checked;
 * anything that does not match is dropped and reported, never used.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { failure, type Failure } from '../failure.ts';
import type { PipeEvent, TransferDirection } from '../events.ts';
import type { Digest } from '../hash/digest.ts';
import { hashFileSized } from '../hash/digest.ts';
import { manifestHash, type ManifestEntry } from '../hash/tree.ts';
import { tempName } from '../hash/temp-name.ts';
import type { CacheStore, RunRecord } from '../cache/store.ts';
import { parseManifest, parseRunRecord } from '../cache/records.ts';
import type { LockEntry } from '../lock/lockfile.ts';
import type { RemoteStore, Transfer } from './types.ts';

export const objectKey = (h: Digest): string => `objects/${h.slice(0, 2)}/${h.slice(2)}`;
export const manifestKey = (h: Digest): string => `manifests/${h}.json`;
export const runKey = (k: Digest): string => `runs/${k}.json`;

/** An out as the lock or a run record names it. */
export interface OutRef {
  kind: 'file' | 'dir';
  hash: Digest;
  size: number;
}

export function outRefsOf(entry: LockEntry): OutRef[] {
  return Object.values(entry.outs).map((o) => ({ kind: o.files === undefined ? 'file' : 'dir', hash: o.hash, size: o.size }));
}

/** What a stage's run record would say, made from its lock entry (a clone that restored by checkout has none). */
export function runRecordFromLock(name: string, entry: LockEntry): RunRecord {
  return {
    stage: name,
    outs: Object.fromEntries(
      Object.entries(entry.outs).map(([p, o]) => [p, o.files === undefined ? { kind: 'file', hash: o.hash, size: o.size } : { kind: 'dir', hash: o.hash, size: o.size, files: o.files }]),
    ),
    durationMs: entry.durationMs,
    createdAt: entry.ranAt,
  };
}

export interface TransferTotals {
  objects: number;
  bytes: number;
}

/** Emits transfer-progress at most every `everyMs`, and always the last one. */
class ProgressMeter {
  private done: TransferTotals = { objects: 0, bytes: 0 };
  private lastAt = 0;
  private readonly t0 = Date.now();
  constructor(
    private readonly emit: (e: PipeEvent) => void,
    private readonly remote: string,
    private readonly direction: TransferDirection,
    private readonly total: TransferTotals,
    private readonly everyMs = 250,
  ) {}
  add(bytes: number): void {
    this.done.objects++;
    this.done.bytes += bytes;
    const now = Date.now();
    if (now - this.lastAt >= this.everyMs || this.done.objects === this.total.objects) this.flush(now);
  }
  flush(now = Date.now()): void {
    this.lastAt = now;
    const secs = Math.max((now - this.t0) / 1000, 1e-3);
    this.emit({
      type: 'transfer-progress',
      time: now,
      remote: this.remote,
      direction: this.direction,
      objects: this.done.objects,
      bytes: this.done.bytes,
      totalObjects: this.total.objects,
      totalBytes: this.total.bytes,
      bytesPerSecond: Math.round(this.done.bytes / secs),
    });
  }
  get totals(): TransferTotals {
    return { ...this.done };
  }
}

/**
 * Batches of about equal count, about four per parallel job so that the
 * finished ones settle (and count as done for a resumed pull) while the rest
 * move, none over 256 files (one sftp session each for SSH).
 */
function batches<T>(items: T[], jobs: number): T[][] {
  const size = Math.max(1, Math.min(256, Math.ceil(items.length / (jobs * 4))));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Uploads in batches, `remote.jobs` batches at a time. */
async function uploadAll(remote: RemoteStore, items: Transfer[], meter: ProgressMeter): Promise<void> {
  const limit = pLimit(remote.jobs);
  await Promise.all(batches(items, remote.jobs).map((b) => limit(() => remote.upload(b, (t) => meter.add(t.size)))));
}

export interface SyncEnv {
  remote: RemoteStore;
  /** The remote's name for events. */
  name: string;
  emit(e: PipeEvent): void;
}

/** A stage's part in a push or pull: what it refers to and what was wrong. */
export interface StageRefs {
  stage: string;
  runKey: Digest;
  outs: OutRef[];
}

export interface PushResult {
  sent: TransferTotals;
  /** Keys the remote had already. */
  skipped: number;
  failures: Failure[];
}

/**
 * Uploads what `stages` refer to and the remote lacks. A stage whose outputs
 * are not all in the local cache is reported and its run record withheld
 * (the remote must never promise what it cannot deliver); the rest go up.
 */
export async function push(store: CacheStore, stages: StageRefs[], records: Map<Digest, RunRecord>, env: SyncEnv): Promise<PushResult> {
  const failures: Failure[] = [];
  const objects = new Map<string, Transfer>();
  const manifests = new Map<string, Transfer>();
  const runs = new Map<string, Transfer>();
  for (const st of stages) {
    const mine: Transfer[] = [];
    let complete = true;
    for (const o of st.outs) {
      if (o.kind === 'file') {
        mine.push({ key: objectKey(o.hash), local: store.objectPath(o.hash), size: o.size });
        continue;
      }
      const m = await store.loadManifest(o.hash);
      if (!m) {
        complete = false;
        continue;
      }
      manifests.set(manifestKey(o.hash), { key: manifestKey(o.hash), local: store.manifestPath(o.hash), size: 0 });
      for (const e of m) mine.push({ key: objectKey(e.hash), local: store.objectPath(e.hash), size: e.size });
    }
    const missing = mine.filter((t) => !existsSync(t.local));
    if (!complete || missing.length) {
      failures.push(
        failure('corrupt-cache', `stage ${st.stage}: ${missing.length || 'some'} of its cached output files are not in the local cache; not pushed`, {
          stage: st.stage,
          hint: `run \`pipe run ${st.stage}\` (or \`pipe pull ${st.stage}\` from where it was pushed) first`,
        }),
      );
      continue;
    }
    for (const t of mine) objects.set(t.key, t);
    if (records.has(st.runKey)) runs.set(runKey(st.runKey), { key: runKey(st.runKey), local: store.runPath(st.runKey), size: 0 });
  }
  const all = [...objects.values(), ...manifests.values(), ...runs.values()];
  const have = await env.remote.present(all.map((t) => t.key));
  const todo = (m: Map<string, Transfer>) => [...m.values()].filter((t) => !have.has(t.key));
  const phases = [todo(objects), todo(manifests), todo(runs)];
  const total = { objects: phases.reduce((n, p) => n + p.length, 0), bytes: phases.flat().reduce((n, t) => n + t.size, 0) };
  const t0 = Date.now();
  env.emit({ type: 'transfer-started', time: t0, remote: env.name, direction: 'push', objects: total.objects, bytes: total.bytes, present: have.size });
  const meter = new ProgressMeter(env.emit, env.name, 'push', total);
  for (const phase of phases) await uploadAll(env.remote, phase, meter);
  if (total.objects) meter.flush();
  env.emit({ type: 'transfer-finished', time: Date.now(), remote: env.name, direction: 'push', ...meter.totals, durationMs: Date.now() - t0 });
  return { sent: meter.totals, skipped: have.size, failures };
}

export interface PullResult {
  received: TransferTotals;
  /** Run keys whose record and every object are now in the local cache. */
  complete: Set<Digest>;
  failures: Failure[];
}

/**
 * Downloads into the local cache what `stages` refer to and it lacks: first
 * run records and manifests (small; they say which objects a folder needs),
 * then objects. Each file is verified before it is renamed in. A stage whose
 * record is absent on the remote uses `outs` from the lock, when given.
 */
export async function pull(store: CacheStore, stages: { runKey: Digest; stage: string; outs?: OutRef[] }[], env: SyncEnv): Promise<PullResult> {
  const failures: Failure[] = [];
  const t0 = Date.now();
  // Phase 1: run records and manifests.
  const outsByStage = new Map<Digest, OutRef[]>();
  const wantRuns: Transfer[] = [];
  for (const st of stages) {
    if (existsSync(store.runPath(st.runKey))) {
      const rec = await store.getRun(st.runKey);
      if (rec) {
        outsByStage.set(st.runKey, Object.values(rec.outs));
        continue;
      }
    }
    wantRuns.push({ key: runKey(st.runKey), local: tempName(store.runPath(st.runKey)), size: 0 });
  }
  const small = new ProgressMeter(env.emit, env.name, 'pull', { objects: 0, bytes: 0 }, Infinity);
  const got = await downloadVerified(env, wantRuns, small, async (t) => {
    const rec = parseRunRecord(await readFile(t.local, 'utf8'));
    return rec ? undefined : 'it is not a run record';
  });
  failures.push(...got.failures);
  for (const st of stages) {
    if (outsByStage.has(st.runKey)) continue;
    if (got.ok.has(runKey(st.runKey))) {
      const rec = await store.getRun(st.runKey);
      if (rec) outsByStage.set(st.runKey, Object.values(rec.outs));
    } else if (st.outs) {
      outsByStage.set(st.runKey, st.outs);
    }
  }
  const manifests = new Map<Digest, ManifestEntry[] | null>();
  const wantManifests: Transfer[] = [];
  for (const outs of outsByStage.values()) {
    for (const o of outs) {
      if (o.kind !== 'dir' || manifests.has(o.hash)) continue;
      const m = await store.loadManifest(o.hash);
      manifests.set(o.hash, m);
      if (!m) wantManifests.push({ key: manifestKey(o.hash), local: tempName(store.manifestPath(o.hash)), size: 0 });
    }
  }
  const gotM = await downloadVerified(env, wantManifests, small, async (t) => {
    const m = parseManifest(await readFile(t.local, 'utf8'));
    const want = path.basename(t.key, '.json');
    return m && manifestHash(m) === want ? undefined : 'its content does not match its hash';
  });
  failures.push(...gotM.failures);
  for (const [h, m] of manifests) if (!m && gotM.ok.has(manifestKey(h))) manifests.set(h, await store.loadManifest(h));

  // Phase 2: objects.
  const objects = new Map<string, Transfer & { hash: Digest }>();
  const need = (hash: Digest, size: number) => {
    const key = objectKey(hash);
    if (!objects.has(key) && !existsSync(store.objectPath(hash))) objects.set(key, { key, local: tempName(store.objectPath(hash)), size, hash });
  };
  for (const outs of outsByStage.values()) {
    for (const o of outs) {
      if (o.kind === 'file') need(o.hash, o.size);
      else for (const e of manifests.get(o.hash) ?? []) need(e.hash, e.size);
    }
  }
  const list = [...objects.values()];
  const total = { objects: list.length, bytes: list.reduce((n, t) => n + t.size, 0) };
  // `pipe run --pull` asks for every stage it would run: stay quiet when the remote has nothing for it.
  const quiet = total.objects === 0 && got.ok.size === 0 && gotM.ok.size === 0;
  if (!quiet) env.emit({ type: 'transfer-started', time: Date.now(), remote: env.name, direction: 'pull', objects: total.objects, bytes: total.bytes, present: 0 });
  const meter = new ProgressMeter(env.emit, env.name, 'pull', total);
  const gotO = await downloadVerified(env, list, meter, async (t) => {
    const h = await hashFileSized(t.local, t.size);
    return h === (t as Transfer & { hash: Digest }).hash ? undefined : `its content hashes to ${h}`;
  });
  failures.push(...gotO.failures);
  if (total.objects) meter.flush();
  const received = { objects: meter.totals.objects + got.ok.size + gotM.ok.size, bytes: meter.totals.bytes };
  if (!quiet) env.emit({ type: 'transfer-finished', time: Date.now(), remote: env.name, direction: 'pull', ...received, durationMs: Date.now() - t0 });

  const complete = new Set<Digest>();
  for (const st of stages) {
    const outs = outsByStage.get(st.runKey);
    if (!outs || !existsSync(store.runPath(st.runKey))) continue;
    const whole = outs.every((o) =>
      o.kind === 'file' ? existsSync(store.objectPath(o.hash)) : (manifests.get(o.hash) ?? []).every((e) => existsSync(store.objectPath(e.hash))) && manifests.get(o.hash) !== null,
    );
    if (whole) complete.add(st.runKey);
  }
  return { received, complete, failures };
}

/**
 * Downloads `items` to their temp paths, checks each with `check` (a reason
 * when bad), renames the good ones to their final name (the temp name minus
 * its temp suffix) and deletes the rest. Keys absent on the remote are
 * simply not in `ok`.
 */
async function downloadVerified(
  env: SyncEnv,
  items: Transfer[],
  meter: ProgressMeter,
  check: (t: Transfer) => Promise<string | undefined>,
): Promise<{ ok: Set<string>; failures: Failure[] }> {
  const ok = new Set<string>();
  const failures: Failure[] = [];
  if (!items.length) return { ok, failures };
  const dirs = new Set(items.map((t) => path.dirname(t.local)));
  for (const d of dirs) await mkdir(d, { recursive: true });
  /** Checks what arrived of one batch and renames it in; the rest is deleted. */
  const settle = async (batch: Transfer[]): Promise<void> => {
    for (const t of batch) {
      if (!existsSync(t.local)) continue;
      const bad = await check(t).catch((e: unknown) => `it cannot be read (${(e as Error).message})`);
      if (bad) {
        await unlink(t.local).catch(() => {});
        failures.push(
          failure('corrupt-cache', `remote ${env.remote.label}: ${t.key} is damaged (${bad}); not used`, {
            hint: 'push it again from a clone that has it (pipe push), or run the stage (pipe run)',
          }),
        );
        continue;
      }
      await rename(t.local, finalName(t.local));
      ok.add(t.key);
    }
  };
  // Each batch is settled as soon as it is down, so a pull killed half way keeps every finished batch.
  const limit = pLimit(env.remote.jobs);
  const done = await Promise.allSettled(
    batches(items, env.remote.jobs).map((b) =>
      limit(async () => {
        try {
          await env.remote.download(b, (t) => meter.add(t.size));
        } finally {
          await settle(b);
        }
      }),
    ),
  );
  const thrown = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
  if (thrown) throw thrown.reason;
  return { ok, failures };
}

/** `<target>.pipe-tmp-<pid>-<rand>` back to `<target>`. */
function finalName(tmp: string): string {
  return tmp.slice(0, tmp.lastIndexOf('.pipe-tmp'));
}

/** What the remote and the local cache hold of one stage's recorded outputs. */
export interface StageRemoteStatus {
  stage: string;
  files: number;
  bytes: number;
  remoteLacks: TransferTotals;
  localLacks: TransferTotals;
  /** Whether the remote has the run record (what `pipe run --pull` looks for). */
  runOnRemote: boolean;
  /** Folder manifests found in neither place: their files cannot be counted. */
  unknownFolders: number;
}

/**
 * Per stage, what the remote has and lacks. Folder manifests missing locally
 * are fetched (verified) first: without one the folder's files are unknown.
 */
export async function remoteStatus(store: CacheStore, stages: StageRefs[], env: SyncEnv): Promise<{ stages: StageRemoteStatus[]; failures: Failure[] }> {
  const wantM: Transfer[] = [];
  for (const st of stages) {
    for (const o of st.outs) {
      if (o.kind === 'dir' && !existsSync(store.manifestPath(o.hash)) && !wantM.some((t) => t.key === manifestKey(o.hash))) {
        wantM.push({ key: manifestKey(o.hash), local: tempName(store.manifestPath(o.hash)), size: 0 });
      }
    }
  }
  const silent = new ProgressMeter(() => {}, env.name, 'pull', { objects: 0, bytes: 0 }, Infinity);
  const gotM = await downloadVerified(env, wantM, silent, async (t) => {
    const m = parseManifest(await readFile(t.local, 'utf8'));
    return m && manifestHash(m) === path.basename(t.key, '.json') ? undefined : 'its content does not match its hash';
  });
  const per: { st: StageRefs; files: Transfer[]; unknown: number }[] = [];
  const keys = new Set<string>();
  for (const st of stages) {
    const files: Transfer[] = [];
    let unknown = 0;
    for (const o of st.outs) {
      if (o.kind === 'file') {
        files.push({ key: objectKey(o.hash), local: store.objectPath(o.hash), size: o.size });
        continue;
      }
      const m = await store.loadManifest(o.hash);
      if (!m) unknown++;
      else for (const e of m) files.push({ key: objectKey(e.hash), local: store.objectPath(e.hash), size: e.size });
    }
    for (const f of files) keys.add(f.key);
    keys.add(runKey(st.runKey));
    per.push({ st, files, unknown });
  }
  const have = await env.remote.present([...keys]);
  const sum = (ts: Transfer[]): TransferTotals => ({ objects: ts.length, bytes: ts.reduce((n, t) => n + t.size, 0) });
  return {
    failures: gotM.failures,
    stages: per.map(({ st, files, unknown }) => ({
      stage: st.stage,
      files: files.length,
      bytes: sum(files).bytes,
      remoteLacks: sum(files.filter((f) => !have.has(f.key))),
      localLacks: sum(files.filter((f) => !existsSync(f.local))),
      runOnRemote: have.has(runKey(st.runKey)),
      unknownFolders: unknown,
    })),
  };
}
