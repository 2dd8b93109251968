/**
 * pipeline.lock: what each stage last ran with and produced, as YAML committed
 * to git next to pipeline.yaml. Written deterministically (stages and maps
 * sorted, fixed field order, block style) so a rerun that changes nothing
 * rewrites nothing, and a diff shows exactly which stage and hash changed.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, isNode, parseDocument, stringify, type Document } from 'yaml';
import { z } from 'zod';
import { failure, type Failure, type Span } from '../failure.ts';
import { err, ok, type Result } from '../util/result.ts';
import type { Digest } from '../hash/digest.ts';
import { writeFileAtomic } from '../cache/atomic.ts';

/** A dep or out as recorded: content hash, total size, and the file count of a folder. */
export interface LockOut {
  hash: Digest;
  size: number;
  files?: number;
}

export interface LockEntry {
  key: Digest;
  uses?: string;
  cmd?: string;
  code: Digest;
  params: Record<string, unknown>;
  deps: Record<string, LockOut>;
  outs: Record<string, LockOut>;
  durationMs: number;
  ranAt: string;
}

export interface LockFile {
  version: 1;
  stages: Record<string, LockEntry>;
}

export const LOCK_VERSION = 1;

const HEADER =
  '# pipeline.lock: written by `pipe run`; do not edit by hand.\n' +
  '# Commit it with pipeline.yaml: it records what every stage last ran with and produced.\n';

const digest = z.string().regex(/^[0-9a-f]{16}$/, 'expected a 16-hex-digit hash');
const count = z.number().int().nonnegative();
const lockOut = z.object({ hash: digest, size: count, files: count.optional() });
const entry = z.object({
  key: digest,
  uses: z.string().optional(),
  cmd: z.string().optional(),
  code: digest,
  params: z.record(z.string(), z.unknown()),
  deps: z.record(z.string(), lockOut),
  outs: z.record(z.string(), lockOut),
  durationMs: z.number().nonnegative(),
  ranAt: z.string(),
});
const lockSchema = z.object({
  version: z.literal(LOCK_VERSION, { error: `expected version: ${LOCK_VERSION} (was this lock written by a newer pipe?)` }),
  stages: z.record(z.string(), entry),
});

export function emptyLock(): LockFile {
  return { version: 1, stages: {} };
}

const HINT = 'restore it with `git checkout pipeline.lock`, or delete it to rerun everything';

/** The 1-based position of `at` (a path into the document) or of its nearest existing parent. */
function spanOf(doc: Document, lc: LineCounter, text: string, file: string, at: PropertyKey[]): Span | undefined {
  for (let n = at.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(at.slice(0, n) as (string | number)[], true);
    if (isNode(node) && node.range) {
      const start = node.range[0];
      const eol = text.indexOf('\n', start);
      const end = Math.min(node.range[1], eol < 0 ? text.length : eol);
      const { line, col } = lc.linePos(start);
      return { file, line, col, length: Math.max(1, end - start) };
    }
  }
  return undefined;
}

function valueAt(v: unknown, at: PropertyKey[]): unknown {
  for (const k of at) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/**
 * Reads pipeline.lock. A missing (or empty) file is an empty lock: nothing has
 * run yet. Invalid YAML or a wrong shape (a bad merge, a hand edit) is a
 * 'corrupt-lock' Failure pointing at the line and column.
 */
export async function readLock(file: string): Promise<Result<LockFile, Failure>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ok(emptyLock());
    return err(failure('io', `cannot read ${file}: ${(e as Error).message}`, { file }));
  }
  return parseLock(text, file);
}

/** parseLock without the file system (the text of a lock file; `file` is for messages). */
export function parseLock(text: string, file: string): Result<LockFile, Failure> {
  const name = path.basename(file);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const yamlErr = doc.errors[0];
  if (yamlErr) {
    const pos = yamlErr.linePos?.[0] ?? lc.linePos(yamlErr.pos[0]);
    return err(
      failure('corrupt-lock', `${name} is not valid YAML: ${yamlErr.message.split('\n')[0]}`, {
        hint: HINT,
        file,
        span: { file, line: pos.line, col: pos.col },
      }),
    );
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return ok(emptyLock()); // empty or only comments
  const parsed = lockSchema.safeParse(value);
  if (!parsed.success) {
    const causes = parsed.error.issues.map((i) => {
      const where = i.path.length ? i.path.map(String).join('.') : '(top level)';
      const span = spanOf(doc, lc, text, file, i.path);
      const missing = i.code === 'invalid_type' && valueAt(value, i.path) === undefined;
      return failure('corrupt-lock', `${name}: ${where}: ${missing ? 'missing' : i.message}`, { file, ...(span ? { span } : {}) });
    });
    const first = causes[0]!;
    return err({ ...first, hint: HINT, ...(causes.length > 1 ? { causes } : {}) });
  }
  return ok(parsed.data as LockFile);
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Plain objects with keys sorted at every depth; arrays keep their order. */
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort(compareKeys)) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = sortDeep(x);
  }
  return out;
}

function outsMap(m: Record<string, LockOut>): Record<string, LockOut> {
  const out: Record<string, LockOut> = {};
  for (const k of Object.keys(m).sort(compareKeys)) {
    const o = m[k]!;
    out[k] = o.files === undefined ? { hash: o.hash, size: o.size } : { hash: o.hash, size: o.size, files: o.files };
  }
  return out;
}

/**
 * The exact bytes of a lock file: header comment, stages sorted by name,
 * fields in a fixed order, every map sorted, block style (one field per line),
 * no line folding. Equal locks give equal bytes whatever their insertion order.
 */
export function serializeLock(lock: LockFile): string {
  const stages: Record<string, unknown> = {};
  for (const name of Object.keys(lock.stages).sort(compareKeys)) {
    const e = lock.stages[name]!;
    const o: Record<string, unknown> = { key: e.key };
    if (e.uses !== undefined) o.uses = e.uses;
    if (e.cmd !== undefined) o.cmd = e.cmd;
    o.code = e.code;
    o.params = sortDeep(e.params);
    o.deps = outsMap(e.deps);
    o.outs = outsMap(e.outs);
    o.durationMs = e.durationMs;
    o.ranAt = e.ranAt;
    stages[name] = o;
  }
  const body = stringify(
    { version: lock.version, stages },
    // lineWidth 0: never fold long commands; aliasDuplicateObjects false: repeated params stay spelled out.
    { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false, indent: 2 },
  );
  return HEADER + body;
}

/** Writes the lock atomically: temp file in the same folder, fsync, rename. */
export async function writeLock(file: string, lock: LockFile): Promise<void> {
  await writeFileAtomic(file, serializeLock(lock), { fsync: true });
}
