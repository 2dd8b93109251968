/**
 * `pipe metrics diff` and `pipe params diff`: the working tree against what
 * pipeline.lock recorded at a git revision. Metric files at the revision are
 * read from the content-addressed cache by the hashes that lock recorded, so
 * nothing is checked out.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { failure, type Failure } from '../failure.ts';
import type { Graph } from '../graph.ts';
import type { CacheStore } from '../cache/store.ts';
import { emptyLock, parseLock, type LockEntry, type LockFile } from '../lock/lockfile.ts';
import { err, ok, type Result } from '../util/result.ts';
import { flattenScalars, type MetricsRow } from './collect.ts';
import { diffParams, flattenParamValues } from '../plan/params-diff.ts';

type Scalar = number | string | boolean;

interface GitOut {
  code: number;
  stdout: string;
  stderr: string;
}

function git(cwd: string, args: string[]): Promise<GitOut | 'no-git'> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (e, stdout, stderr) => {
      if (e && (e as NodeJS.ErrnoException).code === 'ENOENT') return resolve('no-git');
      const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * pipeline.lock as committed at `rev` (a commit-ish). A lock absent at that
 * revision is an empty lock (nothing had run); a folder outside git, an
 * unknown revision or a damaged lock is a Failure.
 */
export async function lockAtRevision(root: string, lockFile: string, rev: string): Promise<Result<LockFile, Failure>> {
  const inside = await git(root, ['rev-parse', '--is-inside-work-tree']);
  if (inside === 'no-git') return err(failure('io', 'git is not installed or not on PATH', { hint: 'install git: comparing with a revision needs it' }));
  if (inside.code !== 0 || inside.stdout.trim() !== 'true') {
    return err(failure('usage', `${root} is not inside a git repository`, { hint: 'run `git init` and commit pipeline.yaml and pipeline.lock, then compare' }));
  }
  const verified = await git(root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  if (verified === 'no-git' || verified.code !== 0) {
    return err(failure('usage', `unknown git revision '${rev}'`, { hint: 'pass a commit, branch or tag (`git log --oneline` lists commits); a new repository needs one commit first' }));
  }
  const commit = verified.stdout.trim();
  // `REV:./path` is resolved from cwd, so this works when the pipeline lives in a subfolder of the repo.
  const shown = await git(root, ['show', `${commit}:./${path.basename(lockFile)}`]);
  if (shown === 'no-git') return err(failure('io', 'git is not installed or not on PATH'));
  if (shown.code !== 0) {
    if (/does not exist|exists on disk, but not in/.test(shown.stderr)) return ok(emptyLock());
    return err(failure('io', `git show ${rev}:${path.basename(lockFile)} failed: ${shown.stderr.trim()}`));
  }
  const parsed = parseLock(shown.stdout, `${rev}:${path.basename(lockFile)}`);
  return parsed.ok ? parsed : err(parsed.error);
}

/** Where a path recorded in a lock entry is stored: its file object hash, or why it cannot be read. */
export async function lockedFileHash(store: CacheStore, entry: LockEntry, file: string): Promise<Result<string, string>> {
  const direct = entry.outs[file];
  if (direct && direct.files === undefined) return ok(direct.hash);
  for (const [out, rec] of Object.entries(entry.outs)) {
    if (rec.files === undefined || !file.startsWith(out + '/')) continue;
    const manifest = await store.loadManifest(rec.hash);
    if (!manifest) return err(`the folder ${out} (${rec.hash}) is not in the cache`);
    const rel = file.slice(out.length + 1);
    const hit = manifest.find((e) => e.path === rel);
    return hit ? ok(hit.hash) : err(`${file} is not in the recorded folder ${out}`);
  }
  return err(`${file} is not among the recorded outputs`);
}

/** Reads a file recorded in a lock entry from the cache. */
export async function readLockedFile(store: CacheStore, entry: LockEntry, file: string): Promise<Result<Buffer, string>> {
  const h = await lockedFileHash(store, entry, file);
  if (!h.ok) return h;
  try {
    return ok(await readFile(store.objectPath(h.value as never)));
  } catch {
    return err(`${file} (object ${h.value}) is not in the cache`);
  }
}

/** The metrics files of the current graph's stages as recorded in `lock`, read from the cache. */
export async function metricsFromLock(g: Graph, lock: LockFile, store: CacheStore): Promise<MetricsRow[]> {
  const rows: MetricsRow[] = [];
  for (const name of g.order) {
    const st = g.stages.get(name)!;
    const entry = lock.stages[name];
    if (!entry) continue; // had not run at that revision
    for (const file of st.metrics) {
      const data = await readLockedFile(store, entry, file);
      if (!data.ok) {
        rows.push({ stage: name, bindings: st.bindings, file, values: {}, error: data.error });
        continue;
      }
      try {
        rows.push({ stage: name, bindings: st.bindings, file, values: flattenScalars(JSON.parse(data.value.toString('utf8'))) });
      } catch (e) {
        rows.push({ stage: name, bindings: st.bindings, file, values: {}, error: `${file} is not valid JSON: ${(e as Error).message}` });
      }
    }
  }
  return rows;
}

/** One changed (or unreadable) value. `delta` is new - old when both are numbers. */
export interface ValueDiff<T = Scalar> {
  stage: string;
  /** The metrics file (metrics diff) or '' (params diff). */
  file: string;
  key: string;
  old?: T;
  new?: T;
  delta?: number;
  /** Why a side could not be read (e.g. an object missing from the cache). */
  note?: string;
}

/** Metrics that differ between `before` (the revision) and `after` (the working tree), in stage order. */
export function diffMetrics(before: MetricsRow[], after: MetricsRow[], o: { all?: boolean } = {}): ValueDiff[] {
  const id = (r: MetricsRow) => `${r.stage}\u0000${r.file}`;
  const old = new Map(before.map((r) => [id(r), r]));
  const now = new Map(after.map((r) => [id(r), r]));
  const ids = [...new Set([...after.map(id), ...before.map(id)])];
  const out: ValueDiff[] = [];
  for (const k of ids) {
    const a = old.get(k);
    const b = now.get(k);
    const ref = (b ?? a)!;
    const note = [a?.error && `before: ${a.error}`, b?.error && `now: ${b.error}`].filter(Boolean).join('; ');
    if (note) out.push({ stage: ref.stage, file: ref.file, key: '(file)', note });
    const keys = [...new Set([...Object.keys(b?.values ?? {}), ...Object.keys(a?.values ?? {})])];
    for (const key of keys) {
      const x = a?.values[key];
      const y = b?.values[key];
      if (x === y && !o.all) continue;
      const d: ValueDiff = { stage: ref.stage, file: ref.file, key };
      if (x !== undefined) d.old = x;
      if (y !== undefined) d.new = y;
      if (typeof x === 'number' && typeof y === 'number') d.delta = y - x;
      out.push(d);
    }
  }
  return out;
}

/** A param value as a table cell: scalars as they are, arrays and objects as JSON text (so they compare by value). */
function paramScalar(v: unknown): Scalar {
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : (JSON.stringify(v) ?? 'null');
}

/** Params flattened to dotted keys (plan/params-diff.ts), with non-scalars as JSON text. */
export function flattenParams(v: unknown): Record<string, Scalar> {
  return Object.fromEntries([...flattenParamValues(v)].map(([k, x]) => [k, paramScalar(x)]));
}

/**
 * Params of the current pipeline.yaml against those recorded in a lock file
 * at a revision. A stage that did not exist (or had not run) there shows
 * every param as new; a stage recorded there but gone now shows them as removed.
 */
export function diffLockParams(before: LockFile, g: Graph, o: { all?: boolean } = {}): ValueDiff[] {
  const out: ValueDiff[] = [];
  const names = [...g.order, ...Object.keys(before.stages).filter((n) => !g.stages.has(n)).sort()];
  for (const stage of names) {
    for (const c of diffParams(before.stages[stage]?.params ?? {}, g.stages.get(stage)?.params ?? {}, o)) {
      const d: ValueDiff = { stage, file: '', key: c.key };
      if (c.old !== undefined) d.old = paramScalar(c.old);
      if (c.new !== undefined) d.new = paramScalar(c.new);
      if (typeof c.old === 'number' && typeof c.new === 'number') d.delta = c.new - c.old;
      out.push(d);
    }
  }
  return out;
}

/** A value for a table cell: numbers to 4 significant digits, integers whole; '-' for absent. */
export function formatValue(v: Scalar | undefined): string {
  if (v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
  return String(v);
}

/** A signed delta ("+0.0123", "-2"), or '' when there is none. */
export function formatDelta(d: number | undefined): string {
  if (d === undefined) return '';
  if (d === 0) return '0';
  const s = Number.isInteger(d) ? String(Math.abs(d)) : Number(Math.abs(d).toPrecision(3)).toString();
  return (d > 0 ? '+' : '-') + s;
}
