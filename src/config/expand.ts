/**
 * Expands one `stages:` entry into its instances: one for a plain entry,
 * one per value for `foreach:` (`key@value`, binding `${item}`), one per
 * combination for `matrix:` (`key@v1-v2` in the order the axes are written,
 * binding each axis name), minus `exclude:`d combinations.
 */
import { failure, type Failure } from '../failure.ts';
import { err, ok, type Result } from '../util/result.ts';
import { interpolate, type Scope } from './interpolate.ts';
import type { SourceMap } from './source-map.ts';

export interface Expansion {
  name: string;
  /** Values bound in the instance's scope, with their types. */
  bindings: Record<string, string | number>;
}

type Scalar = string | number;

/** Characters a foreach/matrix value may have, since it becomes part of a stage name. */
const NAME_PART = /^[A-Za-z0-9_.+=-]+$/;

export function expandEntry(key: string, entry: Record<string, unknown>, scope: Scope, src: SourceMap): Result<Expansion[], Failure[]> {
  const base = ['stages', key] as const;
  const hasForeach = entry.foreach !== undefined;
  const hasMatrix = entry.matrix !== undefined;
  if (hasForeach && hasMatrix) {
    return err([
      failure('schema', `Stage '${key}' has both foreach: and matrix:.`, {
        span: src.spanAt([...base, 'matrix'], 'key'),
        hint: 'Use one: a matrix with a single axis does what foreach does.',
        stage: key,
      }),
    ]);
  }
  if (hasForeach) {
    const values = axisValues(entry.foreach, [...base, 'foreach'], `Stage '${key}', foreach`, scope, src);
    if (!values.ok) return values;
    const failures: Failure[] = [];
    const seen = new Set<string>();
    const out: Expansion[] = [];
    values.value.forEach(({ value, path }) => {
      const label = String(value);
      if (seen.has(label)) {
        failures.push(failure('schema', `Stage '${key}': foreach value '${label}' appears twice, so instance '${key}@${label}' would not be unique.`, { span: src.spanAt(path), stage: key }));
        return;
      }
      seen.add(label);
      out.push({ name: `${key}@${label}`, bindings: { item: value } });
    });
    return failures.length ? err(failures) : ok(out);
  }
  if (hasMatrix) return expandMatrix(key, entry.matrix as Record<string, unknown>, scope, src);
  return ok([{ name: key, bindings: {} }]);
}

function expandMatrix(key: string, matrix: Record<string, unknown>, scope: Scope, src: SourceMap): Result<Expansion[], Failure[]> {
  const base = ['stages', key, 'matrix'];
  const failures: Failure[] = [];
  const axes: { name: string; values: Scalar[] }[] = [];
  for (const [axis, raw] of Object.entries(matrix)) {
    if (axis === 'exclude') continue;
    const r = axisValues(raw, [...base, axis], `Stage '${key}', matrix axis '${axis}'`, scope, src);
    if (!r.ok) failures.push(...r.error);
    else {
      const labels = r.value.map((v) => String(v.value));
      const dup = labels.findIndex((l, i) => labels.indexOf(l) !== i);
      if (dup !== -1) failures.push(failure('schema', `Stage '${key}': matrix axis '${axis}' lists '${labels[dup]}' twice.`, { span: src.spanAt(r.value[dup]!.path), stage: key }));
      axes.push({ name: axis, values: r.value.map((v) => v.value) });
    }
  }
  if (axes.length === 0 && failures.length === 0) {
    failures.push(failure('schema', `Stage '${key}': matrix: has no axes.`, { span: src.spanAt(base, 'key'), stage: key, hint: 'Add at least one key with a list of values.' }));
  }
  const excludes: Record<string, string>[] = [];
  const rawEx = matrix.exclude;
  if (rawEx !== undefined) {
    const r = interpolate(rawEx, [...base, 'exclude'], scope, src);
    if (!r.ok) failures.push(...r.error);
    else if (!Array.isArray(r.value)) failures.push(failure('schema', `Stage '${key}': matrix exclude: must be a list of maps.`, { span: src.spanAt([...base, 'exclude']), stage: key }));
    else {
      r.value.forEach((ex, i) => {
        if (ex === null || typeof ex !== 'object' || Array.isArray(ex)) {
          failures.push(failure('schema', `Stage '${key}': each matrix exclude entry must be a map like {axis: value}.`, { span: src.spanAt([...base, 'exclude', i]), stage: key }));
          return;
        }
        const entry: Record<string, string> = {};
        for (const [k, v] of Object.entries(ex)) {
          if (!axes.some((a) => a.name === k)) {
            failures.push(
              failure('schema', `Stage '${key}': exclude names '${k}', which is not an axis of the matrix (axes: ${axes.map((a) => a.name).join(', ')}).`, {
                span: src.spanAt([...base, 'exclude', i, k], 'key'),
                stage: key,
              }),
            );
          }
          entry[k] = String(v);
        }
        excludes.push(entry);
      });
    }
  }
  if (failures.length) return err(failures);
  let combos: Record<string, Scalar>[] = [{}];
  for (const axis of axes) combos = combos.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.name]: v })));
  const kept = combos.filter((c) => !excludes.some((ex) => Object.entries(ex).every(([k, v]) => String(c[k]) === v)));
  return ok(kept.map((c) => ({ name: `${key}@${axes.map((a) => String(c[a.name])).join('-')}`, bindings: c })));
}

/** The values of a foreach list or a matrix axis: a literal list or a `${var}` holding one, of scalars only. */
function axisValues(
  raw: unknown,
  path: (string | number)[],
  what: string,
  scope: Scope,
  src: SourceMap,
): Result<{ value: Scalar; path: (string | number)[] }[], Failure[]> {
  const r = interpolate(raw, path, scope, src);
  if (!r.ok) return r;
  const list = r.value;
  if (!Array.isArray(list)) {
    return err([failure('schema', `${what} must be a list (or a \${var} holding a list), not ${describe(list)}.`, { span: src.spanAt(path) })]);
  }
  // Elements of a literal list have their own positions; those of a var's list point at the reference.
  const literal = Array.isArray(raw);
  const failures: Failure[] = [];
  const out: { value: Scalar; path: (string | number)[] }[] = [];
  list.forEach((v, i) => {
    const at = literal ? [...path, i] : path;
    if (typeof v !== 'string' && typeof v !== 'number') {
      failures.push(failure('schema', `${what}: values must be strings or numbers, but item ${i + 1} is ${describe(v)}.`, { span: src.spanAt(at) }));
    } else if (!NAME_PART.test(String(v))) {
      failures.push(
        failure('schema', `${what}: value '${String(v)}' cannot be part of a stage name.`, {
          span: src.spanAt(at),
          hint: 'Values become part of the instance name: use letters, digits and _ . + = - only.',
        }),
      );
    } else out.push({ value: v, path: at });
  });
  return failures.length ? err(failures) : ok(out);
}

/** A few words for a value's kind, for messages. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `the ${typeof v} ${JSON.stringify(v)}`;
}
