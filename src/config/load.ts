/**
 * Reading pipeline.yaml into a Pipeline: YAML with positions, the file
 * schema, vars, foreach/matrix expansion and the per-instance checks. Every
 * problem found becomes a Failure pointing into the file; independent
 * problems are collected rather than stopping at the first.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import { failure, type Failure } from '../failure.ts';
import type { ExecutorName, Pipeline, StageInstance } from '../model.ts';
import { err, ok, type Result } from '../util/result.ts';
import { expandEntry } from './expand.ts';
import { PipelineFileSchema, STAGE_KEY_RE, STAGE_KEYS, TOP_KEYS } from './file-schema.ts';
import { buildInstance, type BuiltinLookup } from './instance.ts';
import { varsScope } from './interpolate.ts';
import { SourceMap } from './source-map.ts';
import { didYouMean } from './suggest.ts';
import { dotted, problemsOf, type Problem } from './zod-issues.ts';

export type { BuiltinLookup } from './instance.ts';

/** At most this many YAML syntax errors are reported: later ones are mostly echoes of the first. */
const MAX_SYNTAX_ERRORS = 3;

/**
 * Parses the text of a pipeline file. `file` is its absolute path; the repo
 * root is the folder holding it. Built-in stages come from `builtins`.
 */
export function parsePipelineText(text: string, file: string, builtins: BuiltinLookup): Result<Pipeline, Failure[]> {
  const lines = new LineCounter();
  const doc = parseDocument(shieldRefs(text), { lineCounter: lines, merge: true, prettyErrors: false });
  unshieldRefs(doc);
  const src = new SourceMap(file, text, doc, lines);
  if (doc.errors.length) return err(syntaxFailures(doc.errors, src, text, lines));

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // Bad merge sources and alias explosions surface only when converting.
    return err([failure('yaml-syntax', `${path.basename(file)}: ${(e as Error).message}.`, { span: src.spanAt([]) })]);
  }
  if (raw === null || raw === undefined) {
    return err([failure('schema', `${path.basename(file)} is empty.`, { span: src.spanAt([]), hint: 'Add a stages: map (see schema/pipeline.schema.json).' })]);
  }

  const failures: Failure[] = [];
  const badStages = new Set<string>();
  const parsed = PipelineFileSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    for (const p of problemsOf(parsed.error.issues, [], PipelineFileSchema)) {
      failures.push(schemaFailure(p, src));
      if (p.path[0] === 'stages' && p.path.length >= 2) badStages.add(String(p.path[1]));
    }
    // Without a stages map there is nothing further worth checking.
    const top = raw as Record<string, unknown>;
    if (typeof top !== 'object' || Array.isArray(top) || !isRecord(top.stages)) return err(failures);
  }
  const file0 = raw as { vars?: unknown; executor?: ExecutorName; stages: Record<string, unknown> };
  const varsRaw = isRecord(file0.vars) ? file0.vars : {};
  const vars = varsScope(varsRaw, src);

  // Resolve every var, used or not, so a broken one is reported where it is written.
  const resolvedVars: Record<string, unknown> = {};
  for (const name of Object.keys(varsRaw)) {
    const r = vars.get(name);
    if (r && r.ok) resolvedVars[name] = r.value;
    else if (r) failures.push(...r.error);
  }

  const stages: StageInstance[] = [];
  for (const [key, entryRaw] of Object.entries(file0.stages)) {
    if (badStages.has(key) || !isRecord(entryRaw)) continue;
    const entry = entryRaw;
    if ((entry.uses === undefined) === (entry.cmd === undefined)) {
      const both = entry.uses !== undefined;
      failures.push(
        failure('schema', both ? `Stage '${key}' has both uses: and cmd:.` : `Stage '${key}' has neither uses: nor cmd:.`, {
          span: both ? src.spanAt(['stages', key, 'cmd'], 'key') : src.spanAt(['stages', key], 'key'),
          stage: key,
          hint: 'Give exactly one: uses: <built-in stage> or cmd: <shell command>.',
        }),
      );
      continue;
    }
    const exps = expandEntry(key, entry, vars, src);
    if (!exps.ok) {
      failures.push(...exps.error);
      continue;
    }
    for (const exp of exps.value) {
      const inst = buildInstance(key, entry, exp, vars, src, builtins);
      if (!inst.ok) failures.push(...(inst.error.length ? inst.error : [failure('internal', `Stage '${exp.name}' was rejected without a reason.`, { stage: exp.name })]));
      else stages.push(inst.value);
    }
  }

  const names = new Map<string, StageInstance>();
  for (const s of stages) {
    const prev = names.get(s.name);
    if (prev) failures.push(failure('schema', `Two stages are named '${s.name}' (from '${prev.template}' and '${s.template}').`, { span: s.span, stage: s.name, hint: 'Rename one of them.' }));
    names.set(s.name, s);
  }

  if (failures.length) return err(dedupe(failures));
  return ok({ root: path.dirname(file), file, vars: resolvedVars, stages, ...(file0.executor ? { executor: file0.executor } : {}) });
}

/** Reads and parses the pipeline file at `file` (absolute path). */
export async function loadPipeline(file: string, builtins: BuiltinLookup): Promise<Result<Pipeline, Failure[]>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return err([
        failure('io', `No pipeline file at ${file}.`, {
          file,
          hint: 'Run pipe in the folder that holds pipeline.yaml (or pass its path), or create one: it needs a stages: map.',
        }),
      ]);
    }
    return err([failure('io', `Cannot read ${file}: ${(e as Error).message}`, { file })]);
  }
  return parsePipelineText(text, file, builtins);
}

/*
 * YAML forbids `{` and `}` in plain scalars inside flow collections, so
 * `params: { size: ${size} }` would be a syntax error. Before parsing, the
 * braces of each `${...}` are swapped for private-use characters (same
 * length, so every offset and position stays valid), and swapped back in the
 * parsed scalars.
 */
const OPEN = '\uE000';
const CLOSE = '\uE001';

function shieldRefs(text: string): string {
  return text.replace(/\$\{([^{}\n]*)\}/g, (_m, inner: string) => `$${OPEN}${inner}${CLOSE}`);
}

function unshieldRefs(doc: Document): void {
  const fix = (s: string) => s.replaceAll(OPEN, '{').replaceAll(CLOSE, '}');
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && node.value.includes(OPEN)) node.value = fix(node.value);
    },
  });
}

function syntaxFailures(errors: readonly { pos: [number, number]; message: string }[], src: SourceMap, text: string, lines: LineCounter): Failure[] {
  const out: Failure[] = [];
  const seenLines = new Set<number>();
  for (const e of errors) {
    const span = src.spanOfRange(e.pos[0], Math.max(e.pos[1], e.pos[0] + 1));
    if (seenLines.has(span.line)) continue;
    seenLines.add(span.line);
    const start = lines.lineStarts[span.line - 1] ?? 0;
    const lineText = text.slice(start, text.indexOf('\n', start) === -1 ? undefined : text.indexOf('\n', start));
    const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    out.push(
      failure('yaml-syntax', `${path.basename(src.file)}:${span.line}:${span.col}: ${msg}.`, {
        span,
        ...(lineText.includes('${') && /[[{]/.test(lineText.replace(/\$\{[^}]*\}/g, ''))
          ? { hint: 'A ${var} inside { } or [ ] must be quoted ("${size}"; a quoted whole ${var} still keeps its type) or the map written in block style.' }
          : {}),
      }),
    );
    if (out.length >= MAX_SYNTAX_ERRORS) break;
  }
  return out;
}

function schemaFailure(p: Problem, src: SourceMap): Failure {
  const where = describePath(p.path);
  if (p.unknownKey !== undefined) {
    const allowed = allowedKeys(p.path.slice(0, -1));
    return failure('schema', `${where.replace(/, [^,]*$/, '') || 'Top level'}: unknown key '${p.unknownKey}'.${didYouMean(p.unknownKey, allowed)}`, {
      span: src.spanAt(p.path, 'key'),
      ...(allowed.length ? { hint: `Allowed here: ${allowed.join(', ')}.` } : {}),
      ...(p.path[0] === 'stages' && p.path.length > 2 ? { stage: String(p.path[1]) } : {}),
    });
  }
  if (p.badKey) {
    const key = String(p.path[p.path.length - 1]);
    return failure('schema', `'${key}' is not a valid stage name.`, {
      span: src.spanAt(p.path, 'key'),
      hint: `Stage names must match ${STAGE_KEY_RE.source}: letters, digits, _ . - (and not start with . or -); '@' is reserved for foreach/matrix instances.`,
    });
  }
  const missing = src.locate(p.path).node === undefined && src.locate(p.path).key === undefined;
  return failure('schema', `${where}: ${missing && /received undefined/.test(p.message) ? 'missing' : p.message}.`, {
    span: src.spanAt(p.path),
    ...(p.path[0] === 'stages' && p.path.length > 1 ? { stage: String(p.path[1]) } : {}),
  });
}

/** "Stage 'train', resources.cpu" / "vars" / "stages". */
function describePath(p: readonly (string | number)[]): string {
  if (p[0] === 'stages' && p.length >= 2) return `Stage '${String(p[1])}'${p.length > 2 ? `, ${dotted(p.slice(2))}` : ''}`;
  return dotted(p) || 'Top level';
}

/** Keys allowed in the map at `p`, for "did you mean". */
function allowedKeys(p: readonly (string | number)[]): string[] {
  if (p.length === 0) return TOP_KEYS;
  if (p[0] !== 'stages') return [];
  if (p.length === 2) return STAGE_KEYS;
  const field = p[2];
  if (p.length === 3 && field === 'resources') return ['cpu', 'gpu'];
  if (p.length === 3 && field === 'map') return ['in', 'out', 'glob'];
  if (p.length === 4 && field === 'outs') return ['path', 'cache'];
  return [];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A template's failure repeats once per instance; keep one of each. */
function dedupe(fs: Failure[]): Failure[] {
  const seen = new Set<string>();
  return fs.filter((f) => {
    const k = `${f.kind}|${f.message.replace(/'[^']*@[^']*'/g, '')}|${f.span?.line}:${f.span?.col}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
