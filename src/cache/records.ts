/**
 * The cache's record types and their on-disk JSON (manifests, run records,
 * item records). Reading never throws: anything damaged or of the wrong shape
 * reads as null, which the planner treats as a cache miss (a rerun, never a
 * wrong result).
 */
import { isDigest, type Digest } from '../hash/digest.ts';
import { isSafeRelative } from '../util/inside-repo.ts';
import type { ManifestEntry } from '../hash/tree.ts';

/** How a stored output is described in a run record. */
export interface OutRecord {
  kind: 'file' | 'dir';
  hash: Digest;
  size: number;
  files?: number;
}

/** What one run of a stage produced: `runs/<stage key>.json`. */
export interface RunRecord {
  stage: string;
  outs: Record<string, OutRecord>;
  durationMs: number;
  createdAt: string;
}

/** What one item of a per-item stage produced: `items/<2 hex>/<key>.json`. */
export interface ItemRecord {
  /** The item's output files, relative to the stage's map.out folder. */
  files: ManifestEntry[];
  summary?: unknown;
  createdAt: string;
}

/** Something the cache can restore: a file object or a folder manifest. */
export interface StoredRef {
  kind: 'file' | 'dir';
  hash: Digest;
  /** When known, a file object of another size counts as absent. */
  size?: number;
}

/** Compact manifest: `{"v":1,"files":[[path,hash,size],...]}` (a 10,000-file folder is ~400 KB). */
export function serializeManifest(m: ManifestEntry[]): string {
  return JSON.stringify({ v: 1, files: m.map((e) => [e.path, e.hash, e.size]) });
}

function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function manifestEntries(v: unknown): ManifestEntry[] | null {
  if (!Array.isArray(v)) return null;
  const out: ManifestEntry[] = [];
  for (const e of v) {
    // Accepts the compact tuple form and the object form (item records use the latter).
    const [p, h, s] = Array.isArray(e) ? e : isObj(e) ? [e.path, e.hash, e.size] : [];
    // A path with `..` (or absolute) would be written outside the folder on restore: the record is damaged.
    if (typeof p !== 'string' || !isSafeRelative(p) || !isDigest(h) || !isSize(s)) return null;
    out.push({ path: p, hash: h, size: s });
  }
  return out;
}

export function parseManifest(text: string | null): ManifestEntry[] | null {
  const j = parseJson(text);
  if (!isObj(j) || j.v !== 1) return null;
  return manifestEntries(j.files);
}

function outRecord(v: unknown): OutRecord | null {
  if (!isObj(v) || (v.kind !== 'file' && v.kind !== 'dir') || !isDigest(v.hash) || !isSize(v.size)) return null;
  const r: OutRecord = { kind: v.kind, hash: v.hash, size: v.size };
  if (v.files !== undefined) {
    if (!isSize(v.files)) return null;
    r.files = v.files;
  }
  return r;
}

export function parseRunRecord(text: string | null): RunRecord | null {
  const j = parseJson(text);
  if (!isObj(j) || typeof j.stage !== 'string' || !isObj(j.outs) || typeof j.durationMs !== 'number' || typeof j.createdAt !== 'string') {
    return null;
  }
  const outs: Record<string, OutRecord> = {};
  for (const [k, v] of Object.entries(j.outs)) {
    const r = outRecord(v);
    if (!r) return null;
    outs[k] = r;
  }
  return { stage: j.stage, outs, durationMs: j.durationMs, createdAt: j.createdAt };
}

export function parseItemRecord(text: string | null): ItemRecord | null {
  return itemRecordFrom(parseJson(text));
}

/** An item record from parsed JSON, or null if it does not have the shape of one. */
export function itemRecordFrom(j: unknown): ItemRecord | null {
  if (!isObj(j) || typeof j.createdAt !== 'string') return null;
  const files = manifestEntries(j.files);
  if (!files) return null;
  const rec: ItemRecord = { files, createdAt: j.createdAt };
  if (j.summary !== undefined) rec.summary = j.summary;
  return rec;
}
