/**
 * Builds one StageInstance from a `stages:` entry and one of its expansions:
 * substitutes vars, validates built-in params, asks the built-in for its
 * inputs and outputs, and normalises every path.
 */
import type { ZodType } from 'zod';
import { failure, type Failure, type Span } from '../failure.ts';
import type { MapDecl, OutDecl, Resources, StageInstance } from '../model.ts';
import { viewKind, viewPaths, viewTitle, type ReportView } from '../report-views.ts';
import type { Stage } from '../stage-api.ts';
import { err, ok, type Result } from '../util/result.ts';
import type { Expansion } from './expand.ts';
import { StageEntrySchema } from './file-schema.ts';
import { interpolate, layerScope, type Scope } from './interpolate.ts';
import { normaliseRepoPath } from './paths.ts';
import type { SourceMap, ValuePath } from './source-map.ts';
import { didYouMean } from './suggest.ts';
import { dotted, problemsOf } from './zod-issues.ts';

/** Looks built-in stages up by name (the registry, or a fake in tests). */
export interface BuiltinLookup {
  get(name: string): Stage | undefined;
  names(): string[];
}

/** Fields substituted after params (they may use `${params.x}`). */
const LATE_FIELDS = ['uses', 'cmd', 'deps', 'outs', 'metrics', 'env', 'wdir', 'map', 'resources', 'report'] as const;

/** Default glob of `map:` when none is given: every file below `in`. */
export const DEFAULT_MAP_GLOB = '**/*';

export function buildInstance(
  key: string,
  entry: Record<string, unknown>,
  exp: Expansion,
  vars: Scope,
  src: SourceMap,
  builtins: BuiltinLookup,
): Result<StageInstance, Failure[]> {
  const name = exp.name;
  const base: ValuePath = ['stages', key];
  const at = (...p: (string | number)[]) => src.spanAt([...base, ...p]);
  const scope = layerScope(exp.bindings, vars);
  const failures: Failure[] = [];
  const fail = (kind: Failure['kind'], message: string, span: Span, hint?: string) =>
    failures.push(failure(kind, message, { span, stage: name, ...(hint ? { hint } : {}) }));

  // Params first: the other fields may refer to them as ${params.x}.
  const rawParams = interpolate(entry.params ?? {}, [...base, 'params'], scope, src);
  if (!rawParams.ok) return err(rawParams.error);
  let params = rawParams.value as Record<string, unknown>;

  const late: Record<string, unknown> = {};
  let builtin: Stage | undefined;
  if (entry.uses !== undefined) {
    const u = interpolate(entry.uses, [...base, 'uses'], scope, src);
    if (!u.ok) return err(u.error);
    const known = builtins.names();
    builtin = typeof u.value === 'string' ? builtins.get(u.value) : undefined;
    if (!builtin) {
      fail(
        'unknown-stage-type',
        `Stage '${name}' uses '${String(u.value)}', which is not a built-in stage.${didYouMean(String(u.value), known)}`,
        at('uses'),
        `Built-in stages: ${known.join(', ') || '(none found)'}. Or write cmd: to run a shell command.`,
      );
      return err(failures);
    }
    late.uses = u.value;
    const parsed = parseParams(builtin, params, name, [...base, 'params'], src);
    if (!parsed.ok) return err(parsed.error);
    params = parsed.value;
  }

  const scope2 = layerScope({ params }, scope);
  for (const f of LATE_FIELDS) {
    if (f === 'uses' || entry[f] === undefined) continue;
    const r = interpolate(entry[f], [...base, f], scope2, src);
    if (!r.ok) failures.push(...r.error);
    else late[f] = r.value;
  }
  if (failures.length) return err(failures);

  // The values substituted in must still fit the file's schema (a var holding a string where a number belongs).
  const check = StageEntrySchema.safeParse(late, { reportInput: true });
  if (!check.success) {
    for (const p of problemsOf(check.error.issues, base, StageEntrySchema, 2)) {
      fail('schema', `Stage '${name}', ${dotted(p.path.slice(2))}: ${p.message} (after substituting vars).`, src.spanAt(p.path, p.unknownKey ? 'key' : 'value'));
    }
    return err(failures);
  }

  const spans: Record<string, Span> = {};
  const paths = new PathCollector(name, src, failures);
  const ioSpan = entry.params !== undefined ? src.spanAt([...base, 'params'], 'key') : at('uses');

  // User-declared paths first, then those the built-in implies (deduplicated).
  const deps: { path: string; span: Span }[] = [];
  const outs: OutDecl[] = [];
  const metrics: { path: string; span: Span }[] = [];
  const addDep = (p: string | undefined, span: Span) => p !== undefined && !deps.some((d) => d.path === p) && deps.push({ path: p, span });
  const addOut = (p: string | undefined, cache: boolean, span: Span) => p !== undefined && !outs.some((o) => o.path === p) && outs.push({ path: p, cache, span });
  const addMetric = (p: string | undefined, span: Span) => p !== undefined && !metrics.some((m) => m.path === p) && metrics.push({ path: p, span });

  asList(late.deps).forEach((d, i) => addDep(paths.norm(d, [...base, 'deps', Array.isArray(entry.deps) ? i : []].flat()), spanOf(src, base, 'deps', entry.deps, i)));
  asList(late.outs).forEach((o, i) => {
    const obj = typeof o === 'string' ? { path: o, cache: true } : (o as { path: string; cache?: unknown });
    const listPath = [...base, 'outs', ...(Array.isArray(entry.outs) ? [i] : [])];
    const p = paths.norm(obj.path, typeof o === 'string' ? listPath : [...listPath, 'path'], true);
    if (obj.cache !== undefined && typeof obj.cache !== 'boolean') fail('schema', `Stage '${name}': outs cache: must be true or false.`, src.spanAt([...listPath, 'cache']));
    addOut(p, obj.cache !== false, spanOf(src, base, 'outs', entry.outs, i));
  });
  asList(late.metrics).forEach((m, i) => addMetric(paths.norm(m, [...base, 'metrics', Array.isArray(entry.metrics) ? i : []].flat(), true), spanOf(src, base, 'metrics', entry.metrics, i)));

  let map: MapDecl | undefined;
  const userMap = late.map as { in: string; out: string; glob?: string } | undefined;
  if (userMap) {
    const mIn = paths.norm(userMap.in, [...base, 'map', 'in']);
    const mOut = paths.norm(userMap.out, [...base, 'map', 'out'], true);
    if (mIn !== undefined && mOut !== undefined) map = { in: mIn, out: mOut, glob: userMap.glob ?? DEFAULT_MAP_GLOB, span: at('map') };
  }

  if (builtin) {
    let io;
    try {
      io = builtin.io(params);
    } catch (e) {
      fail('bad-params', `Stage '${name}': built-in '${builtin.name}' could not derive its inputs and outputs from these params: ${e instanceof Error ? e.message : String(e)}`, ioSpan);
      return err(failures);
    }
    const ioPath = (p: string, out = false) => paths.norm(p, [...base, 'params'], out, `path '${p}' derived from the params`);
    for (const d of io.deps) addDep(ioPath(d), ioSpan);
    for (const o of io.outs) addOut(ioPath(o, true), true, ioSpan);
    for (const m of io.metrics) addMetric(ioPath(m, true), ioSpan);
    if (io.map) {
      if (map) fail('schema', `Stage '${name}': built-in '${builtin.name}' already takes its items from its params; remove map:.`, at('map'));
      const mIn = ioPath(io.map.in);
      const mOut = ioPath(io.map.out, true);
      if (mIn !== undefined && mOut !== undefined) map = { in: mIn, out: mOut, glob: io.map.glob ?? DEFAULT_MAP_GLOB, span: ioSpan };
    } else if (builtin.kind === 'per-item') {
      fail('internal', `Built-in stage '${builtin.name}' is per-item but its io() returned no map.`, ioSpan, 'This is a bug in the stage module.');
    }
  }
  // The items folder is read and the per-item output folder written: make them a dep and an out so the graph sees them.
  if (map) {
    addDep(map.in, map.span ?? ioSpan);
    addOut(map.out, true, map.span ?? ioSpan);
  }

  const report = reportViews(builtin, params, (late.report ?? []) as ReportView[], name, (v, at, what) => paths.norm(v, at, false, what), src, base, ioSpan, failures);

  const wdir = late.wdir === undefined ? '.' : paths.norm(late.wdir as string, [...base, 'wdir']);
  const resources = mergeResources(builtin, params, late.resources as Partial<Record<keyof Resources, unknown>> | undefined, name, src, base, failures);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries((late.env ?? {}) as Record<string, unknown>)) env[k] = String(v);

  if (failures.length) return err(failures);

  deps.forEach((d, i) => (spans[`deps.${i}`] = d.span));
  outs.forEach((o, i) => o.span && (spans[`outs.${i}`] = o.span));
  metrics.forEach((m, i) => (spans[`metrics.${i}`] = m.span));
  for (const k of Object.keys(params)) if (entry.params !== undefined) spans[`params.${k}`] = src.spanAt([...base, 'params', k]);
  for (const f of ['uses', 'cmd', 'wdir', 'map', 'resources', 'env', 'params'] as const) if (entry[f] !== undefined) spans[f] = src.spanAt([...base, f], 'key');

  const inst: StageInstance = {
    name,
    template: key,
    bindings: Object.fromEntries(Object.entries(exp.bindings).map(([k, v]) => [k, String(v)])),
    kind: builtin ? 'uses' : 'cmd',
    deps: deps.map((d) => d.path),
    outs,
    metrics: metrics.map((m) => m.path),
    params,
    resources,
    env,
    wdir: wdir ?? '.',
    report,
    span: src.spanAt(base, 'key'),
    spans,
  };
  if (builtin) inst.uses = builtin.name;
  else inst.cmd = late.cmd as string;
  if (map) inst.map = map;
  if (entry.executor === 'local' || entry.executor === 'slurm') inst.executor = entry.executor;
  return ok(inst);
}

/** Parses params with the built-in's zod schema (giving defaults); issues become located 'bad-params' failures. */
function parseParams(builtin: Stage, params: Record<string, unknown>, name: string, at: ValuePath, src: SourceMap): Result<Record<string, unknown>, Failure[]> {
  const failures: Failure[] = [];
  const schema = builtin.params as ZodType;
  const known = strictKeys(schema);
  if (known) {
    for (const k of Object.keys(params)) {
      if (known.includes(k)) continue;
      failures.push(
        failure('bad-params', `Stage '${name}': '${builtin.name}' has no param '${k}'.${didYouMean(k, known)}`, {
          span: src.spanAt([...at, k], 'key'),
          stage: name,
          hint: `Its params: ${known.join(', ')}.`,
        }),
      );
    }
  }
  const r = schema.safeParse(params);
  if (!r.success) {
    for (const p of problemsOf(r.error.issues, at)) {
      // Unknown top-level params were reported above, with suggestions.
      if (p.unknownKey && known && p.path.length === at.length + 1) continue;
      const param = dotted(p.path.slice(at.length)) || '(params)';
      const missing = src.locate(p.path).node === undefined;
      failures.push(
        failure('bad-params', `Stage '${name}': param '${param}': ${missing && /received undefined/.test(p.message) ? 'missing' : p.message}.`, {
          span: src.spanAt(p.path, p.unknownKey ? 'key' : 'value'),
          stage: name,
          ...(missing && !p.unknownKey ? { hint: `Add '${param}' under params: of stage '${name}'.` } : {}),
        }),
      );
    }
  }
  if (!r.success && failures.length === 0) {
    failures.push(failure('bad-params', `Stage '${name}': params rejected by '${builtin.name}': ${r.error.message}`, { span: src.spanAt(at, 'key'), stage: name }));
  }
  if (failures.length || !r.success) return err(failures);
  const value = r.data;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return err([failure('internal', `Built-in stage '${builtin.name}': its params schema must give an object.`, { stage: name })]);
  }
  return ok(value as Record<string, unknown>);
}

/**
 * The param names of an object schema that drops or rejects other keys (zod's
 * default strips them silently, which would hide a misspelt param). Undefined
 * when the schema is not such an object or deliberately accepts extra keys.
 */
function strictKeys(schema: ZodType): string[] | undefined {
  let s: unknown = schema;
  for (let i = 0; i < 10; i++) {
    const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return undefined;
    if (def.type === 'object') {
      const catchall = def.catchall as { _zod?: { def?: { type?: string } } } | undefined;
      if (catchall && catchall._zod?.def?.type !== 'never') return undefined;
      return Object.keys(def.shape as object);
    }
    if (def.type === 'default' || def.type === 'optional' || def.type === 'prefault' || def.type === 'nullable') s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else return undefined;
  }
  return undefined;
}

function mergeResources(
  builtin: Stage | undefined,
  params: Record<string, unknown>,
  user: Partial<Record<keyof Resources, unknown>> | undefined,
  name: string,
  src: SourceMap,
  base: ValuePath,
  failures: Failure[],
): Resources {
  const res: Resources = { cpu: 1, gpu: 0 };
  const fromStage = builtin?.resources?.(params) ?? {};
  if (fromStage.cpu !== undefined) res.cpu = fromStage.cpu;
  if (fromStage.gpu !== undefined) res.gpu = fromStage.gpu;
  const bad = (k: string, what: string) => failures.push(failure('schema', `Stage '${name}': resources ${k} must be ${what}.`, { span: src.spanAt([...base, 'resources', k]), stage: name }));
  for (const k of ['cpu', 'gpu', 'chunk'] as const) {
    const v = user?.[k];
    if (v === undefined) continue;
    if (typeof v === 'number' && Number.isInteger(v) && v >= (k === 'chunk' ? 1 : 0)) res[k] = v;
    else bad(k, k === 'chunk' ? 'a whole number of at least 1' : 'a whole number');
  }
  // Slurm reads a bare number as megabytes (--mem) or minutes (--time), as here.
  for (const k of ['mem', 'time'] as const) {
    const v = user?.[k];
    if (v === undefined) continue;
    if (typeof v === 'number' || (typeof v === 'string' && v.trim() !== '')) res[k] = String(v).trim();
    else bad(k, k === 'mem' ? 'a size such as 8G' : 'a duration such as 2:00:00');
  }
  for (const k of ['partition', 'account', 'gres'] as const) {
    const v = user?.[k];
    if (typeof v === 'string' && v.trim() !== '') res[k] = v.trim();
  }
  if (Array.isArray(user?.sbatch)) res.sbatch = (user.sbatch as unknown[]).map(String);
  return res;
}

/** Normalises paths, reporting problems at the position they came from. */
class PathCollector {
  constructor(
    private readonly stage: string,
    private readonly src: SourceMap,
    private readonly failures: Failure[],
  ) {}

  norm(p: unknown, at: ValuePath, isOut = false, what?: string): string | undefined {
    const span = this.src.spanAt(at);
    if (typeof p !== 'string') {
      this.failures.push(failure('schema', `Stage '${this.stage}': expected a path, got ${JSON.stringify(p)}.`, { span, stage: this.stage }));
      return undefined;
    }
    const r = normaliseRepoPath(p);
    const label = what ?? `path '${p}'`;
    if (!r.ok) {
      if (r.error === 'empty') this.failures.push(failure('schema', `Stage '${this.stage}': ${label} is empty.`, { span, stage: this.stage }));
      else
        this.failures.push(
          failure('path-outside-repo', `Stage '${this.stage}': ${label} is ${r.error === 'absolute' ? 'absolute' : 'outside the repo'}.`, {
            span,
            stage: this.stage,
            hint: 'Paths are relative to the folder holding pipeline.yaml and must stay inside it, so the pipeline works on any machine.',
          }),
        );
      return undefined;
    }
    if (isOut && r.value === '.') {
      this.failures.push(failure('schema', `Stage '${this.stage}': the repo root itself cannot be an output.`, { span, stage: this.stage, hint: 'Name a folder inside it.' }));
      return undefined;
    }
    return r.value;
  }
}

/**
 * The stage's report views: the built-in's own (from its params), then those
 * of `report:` in pipeline.yaml. A `report:` entry with the kind and title of
 * a built-in view changes that view (its fields replace the built-in's);
 * others are added. Every path is normalised like deps and outs.
 */
function reportViews(
  builtin: Stage | undefined,
  params: Record<string, unknown>,
  declared: ReportView[],
  name: string,
  norm: (p: unknown, at: ValuePath, what?: string) => string | undefined,
  src: SourceMap,
  base: ValuePath,
  ioSpan: Span,
  failures: Failure[],
): ReportView[] {
  let own: ReportView[] = [];
  try {
    own = builtin?.report?.(params) ?? [];
  } catch (e) {
    failures.push(failure('bad-params', `Stage '${name}': built-in '${builtin!.name}' could not declare its report views from these params: ${e instanceof Error ? e.message : String(e)}`, { span: ioSpan, stage: name }));
  }
  const views = own.map((v) => ({ view: v, at: [...base, 'params'] as ValuePath, fromParams: true }));
  declared.forEach((v, i) => {
    const same = views.findIndex((x) => x.fromParams && viewKind(x.view) === viewKind(v) && viewTitle(x.view) === viewTitle(v));
    const at: ValuePath = [...base, 'report', i];
    if (same >= 0) views[same] = { view: { ...views[same]!.view, ...v } as ReportView, at, fromParams: false };
    else views.push({ view: v, at, fromParams: false });
  });
  const required: Record<string, string[]> = { table: ['file', 'columns'], curve: ['file', 'x', 'y'], images: ['columns'], dataset: [] };
  const complete = views.filter(({ view, at }) => {
    const missing = required[viewKind(view)]!.filter((k) => (view as unknown as Record<string, unknown>)[k] === undefined);
    if (missing.length === 0) return true;
    const builtinHint = builtin ? ` '${builtin.name}' declares no ${viewKind(view)} titled '${viewTitle(view)}'` : '';
    failures.push(
      failure('schema', `Stage '${name}', report: the ${viewKind(view)} '${viewTitle(view)}' needs ${missing.join(' and ')}.`, {
        span: src.spanAt(at),
        stage: name,
        hint: builtinHint ? `${builtinHint.trim()} to change; give the whole view, or use one of its titles.` : 'See "Report views" in README.md.',
      }),
    );
    return false;
  });
  return complete.map(({ view, at, fromParams }) => {
    const v = structuredClone(view) as ReportView & Record<string, unknown>;
    for (const { at: sub, path } of viewPaths(v)) {
      const n = norm(path, fromParams ? at : [...at, ...sub], fromParams ? `report path '${path}' derived from the params` : undefined);
      if (n === undefined) continue;
      let o: Record<string, unknown> = v;
      for (const k of sub.slice(0, -1)) o = o[k] as Record<string, unknown>;
      o[sub[sub.length - 1]!] = n;
    }
    if ('table' in v && v.row) v.row = Object.fromEntries(Object.entries(v.row).map(([k, x]) => [k, String(x)]));
    return v;
  });
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Position of entry i of a list field, or of the `${var}` that produced the list. */
function spanOf(src: SourceMap, base: ValuePath, field: string, raw: unknown, i: number): Span {
  return Array.isArray(raw) ? src.spanAt([...base, field, i]) : src.spanAt([...base, field]);
}
