/**
 * `${name}` substitution. A string that is exactly one `${x}` takes the value
 * of x with its type (number, list, object); inside a longer string the value
 * is stringified (lists of scalars joined by spaces, handy in `cmd:`).
 * `$${x}` stands for a literal `${x}`. Anything without a `$` before `{`
 * (such as the runner's `{in}` placeholders) is left alone.
 */
import { failure, type Failure } from '../failure.ts';
import { err, ok, type Result } from '../util/result.ts';
import type { SourceMap, ValuePath } from './source-map.ts';
import { didYouMean } from './suggest.ts';

/** Names visible to `${...}` in one place of the file. */
export interface Scope {
  /** The value bound to a top-level name; undefined when unbound. Failures come from resolving vars lazily. */
  get(name: string): Result<unknown, Failure[]> | undefined;
  names(): string[];
}

const TOKEN = /\$\$\{|\$\{([^}]*)\}/g;
const EXPR = /^\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)\s*$/;
const WHOLE = /^\$\{([^}]*)\}$/;

/** A scope of fixed bindings layered over a parent (bindings win). */
export function layerScope(bindings: Record<string, unknown>, parent: Scope): Scope {
  return {
    get: (name) => (Object.hasOwn(bindings, name) ? ok(bindings[name]) : parent.get(name)),
    names: () => [...new Set([...Object.keys(bindings), ...parent.names()])],
  };
}

/**
 * The scope of `vars:`. Vars may refer to other vars; each is resolved once,
 * on first use, and a var that refers back to itself is reported.
 */
export function varsScope(vars: Record<string, unknown>, src: SourceMap): Scope {
  const done = new Map<string, Result<unknown, Failure[]>>();
  const busy = new Set<string>();
  const scope: Scope = {
    names: () => Object.keys(vars),
    get(name) {
      if (!Object.hasOwn(vars, name)) return undefined;
      const memo = done.get(name);
      if (memo) return memo;
      if (busy.has(name)) {
        return err([
          failure('undefined-var', `Var '${name}' refers to itself (through ${[...busy].join(' -> ')} -> ${name}).`, {
            span: src.spanAt(['vars', name], 'key'),
            hint: 'Give the var a value that does not depend on itself.',
          }),
        ]);
      }
      busy.add(name);
      const r = interpolate(vars[name], ['vars', name], scope, src);
      busy.delete(name);
      done.set(name, r);
      return r;
    },
  };
  return scope;
}

/** Substitutes every `${...}` in `value` (recursing into lists and maps); `path` locates it in the file. */
export function interpolate(value: unknown, path: ValuePath, scope: Scope, src: SourceMap): Result<unknown, Failure[]> {
  if (typeof value === 'string') return interpolateString(value, path, scope, src);
  const failures: Failure[] = [];
  if (Array.isArray(value)) {
    const out = value.map((v, i) => {
      const r = interpolate(v, [...path, i], scope, src);
      if (!r.ok) failures.push(...r.error);
      return r.ok ? r.value : undefined;
    });
    return failures.length ? err(failures) : ok(out);
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = interpolate(v, [...path, k], scope, src);
      if (!r.ok) failures.push(...r.error);
      else out[k] = r.value;
    }
    return failures.length ? err(failures) : ok(out);
  }
  return ok(value);
}

/** A reference inside another one's name: the `${item}` in `${sets.${item}.images}`. */
const NESTED = /(\$\{[^{}]*)\$\{([^{}]*)\}/;

/**
 * Resolves nested references innermost first, so a foreach/matrix value can
 * pick an entry of a map var: `${sets.${item}.images}`.
 */
function resolveNested(s: string, path: ValuePath, scope: Scope, src: SourceMap): Result<string, Failure[]> {
  let str = s;
  for (let m = NESTED.exec(str); m; m = NESTED.exec(str)) {
    const token = '${' + m[2]! + '}';
    const r = resolveRef(m[2]!, token, 0, path, scope, src);
    if (!r.ok) return r;
    const v = stringify(r.value);
    if (v === undefined || v.includes('}')) {
      return err([failure('schema', `'${token}' inside another reference must be a plain value, not a list or map.`, { span: src.spanOfToken(path, token, 0) })]);
    }
    str = str.slice(0, m.index + m[1]!.length) + v + str.slice(m.index + m[0].length);
  }
  return ok(str);
}

function interpolateString(raw: string, path: ValuePath, scope: Scope, src: SourceMap): Result<unknown, Failure[]> {
  if (!raw.includes('${')) return ok(raw);
  const nested = resolveNested(raw, path, scope, src);
  if (!nested.ok) return nested;
  const s = nested.value;
  const whole = WHOLE.exec(s);
  if (whole) return resolveRef(whole[1]!, s, 0, path, scope, src);
  const failures: Failure[] = [];
  const seen = new Map<string, number>();
  const out = s.replace(TOKEN, (token: string, expr: string | undefined) => {
    if (token === '$${') return '${';
    const occurrence = seen.get(token) ?? 0;
    seen.set(token, occurrence + 1);
    const r = resolveRef(expr ?? '', token, occurrence, path, scope, src);
    if (!r.ok) {
      failures.push(...r.error);
      return token;
    }
    const str = stringify(r.value);
    if (str === undefined) {
      failures.push(
        failure('schema', `'${token}' holds a map, which cannot be put inside a longer string.`, {
          span: src.spanOfToken(path, token, occurrence),
          hint: `Use a single entry ('\${${(expr ?? '').trim()}.key}') or make the whole value '${token}'.`,
        }),
      );
      return token;
    }
    return str;
  });
  return failures.length ? err(failures) : ok(out);
}

function stringify(v: unknown): string | undefined {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) return v.map((x) => String(x ?? '')).join(' ');
  return undefined;
}

function resolveRef(
  expr: string,
  token: string,
  occurrence: number,
  path: ValuePath,
  scope: Scope,
  src: SourceMap,
): Result<unknown, Failure[]> {
  const span = () => src.spanOfToken(path, token, occurrence);
  const m = EXPR.exec(expr);
  if (!m) {
    return err([
      failure('undefined-var', `'${token}' is not a valid reference.`, {
        span: span(),
        hint: 'Write ${name} or ${name.key}; use $${...} for a literal ${...}.',
      }),
    ]);
  }
  const [root, ...rest] = m[1]!.split('.') as [string, ...string[]];
  const got = scope.get(root);
  if (got === undefined) {
    const known = scope.names();
    return err([
      failure('undefined-var', `'${token}' refers to '${root}', which is not defined.${didYouMean(root, known)}`, {
        span: span(),
        hint: known.length ? `Defined here: ${known.join(', ')}. Add '${root}' under vars: or escape it as $\${...}.` : `Define '${root}' under vars:.`,
      }),
    ]);
  }
  if (!got.ok) return got;
  let cur: unknown = got.value;
  let walked = root;
  for (const seg of rest) {
    let next: unknown = undefined;
    let found = false;
    if (Array.isArray(cur) && /^\d+$/.test(seg)) {
      found = Number(seg) < cur.length;
      next = cur[Number(seg)];
    } else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.hasOwn(cur, seg)) {
      found = true;
      next = (cur as Record<string, unknown>)[seg];
    }
    if (!found) {
      const keys = cur !== null && typeof cur === 'object' ? Object.keys(cur) : [];
      const what = Array.isArray(cur) ? `a list of ${cur.length}` : keys.length ? `keys ${keys.join(', ')}` : `no keys (it is ${JSON.stringify(cur)})`;
      return err([
        failure('undefined-var', `'${token}': '${walked}' has no '${seg}'; it has ${what}.${didYouMean(seg, keys)}`, { span: span() }),
      ]);
    }
    cur = next;
    walked += '.' + seg;
  }
  return ok(cur);
}
