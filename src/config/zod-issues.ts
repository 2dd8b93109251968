/**
 * Turns zod issues into plain, located problems: unions are unwrapped to the
 * branch the user evidently meant, and unknown keys are split one per key so
 * each can point at its own position.
 */
import type { z } from 'zod';
import type { ValuePath } from './source-map.ts';

export interface Problem {
  /** Absolute path of the offending value (or of the unknown key). */
  path: (string | number)[];
  /** Set for unknown keys: point at the key rather than a value. */
  unknownKey?: string;
  /** Set for a bad record key (e.g. a stage name). */
  badKey?: boolean;
  message: string;
}

type Issue = z.core.$ZodIssue;

/**
 * Flattens zod issues found in a value located at `base`. `root`, the schema
 * that was parsed (at `rootAt` segments into the absolute path), lets
 * messages name the type a field expects.
 */
export function problemsOf(issues: readonly Issue[], base: ValuePath, root?: z.ZodType, rootAt = base.length): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = [...base, ...(issue.path as (string | number)[])];
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const k of issue.keys) out.push({ path: [...path, k], unknownKey: k, message: `unknown key '${k}'` });
        break;
      case 'invalid_key':
        out.push({ path, badKey: true, message: issue.message });
        break;
      case 'invalid_union': {
        const branches = issue.errors;
        // The branch that got past the type check is the one the user meant
        // (e.g. an `outs` entry written as a map with a misspelt key).
        const meant = branches.find((b) => b.length > 0 && b.every((i) => i.path.length > 0 || i.code === 'unrecognized_keys'));
        if (meant) out.push(...problemsOf(meant, path, root, rootAt));
        else {
          const expected = [...new Set(branches.flat().map((i) => (i.code === 'invalid_type' ? i.expected : undefined)).filter((x) => x))];
          const varRef = branches.some((b) => b.some((i) => i.code === 'invalid_format'));
          const wants = [...expected.map(String), ...(varRef ? ['a ${var} reference'] : [])];
          out.push({ path, message: wants.length ? `expected ${wants.join(' or ')}` : issue.message });
        }
        break;
      }
      case 'invalid_format': {
        // A string in a field that also takes a ${var}: zod reports only the failed var pattern.
        const types = root ? otherTypesAt(root, path.slice(rootAt)) : [];
        const got = typeof issue.input === 'string' ? `'${issue.input}'` : 'this value';
        out.push({ path, message: types.length ? `expected ${types.join(' or ')} or a \${var} reference, got ${got}` : `${got} is not valid here` });
        break;
      }
      default:
        out.push({ path, message: issue.message.replace(/^Invalid input: /, '') });
    }
  }
  return out;
}

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } })._zod?.def;

/** The types (other than the ${var} string) of the union at `path` in `schema`. */
function otherTypesAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let s: unknown = schema;
  for (const seg of path) {
    s = unwrap(s);
    const def = defOf(s);
    if (!def) return [];
    if (def.type === 'object') {
      const shape = def.shape as Record<string, unknown>;
      s = Object.hasOwn(shape, String(seg)) ? shape[String(seg)] : def.catchall;
    } else if (def.type === 'record') s = def.valueType;
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'union') {
      // Step into the branch that can hold `seg` (a list or a map).
      const next = (def.options as unknown[]).map(unwrap).find((o) => ['array', 'object', 'record'].includes(defOf(o)?.type ?? ''));
      if (!next) return [];
      s = unwrap(next);
      const d2 = defOf(s)!;
      s = d2.type === 'array' ? d2.element : d2.type === 'record' ? d2.valueType : (d2.shape as Record<string, unknown>)[String(seg)];
    } else return [];
  }
  const def = defOf(unwrap(s));
  if (def?.type !== 'union') return [];
  return (def.options as unknown[]).map((o) => defOf(unwrap(o))?.type).filter((t): t is string => t !== undefined && t !== 'string');
}

function unwrap(s: unknown): unknown {
  for (let d = defOf(s); d && (d.type === 'optional' || d.type === 'default' || d.type === 'nullable'); d = defOf(s)) s = d.innerType;
  return s;
}

/** `cpu` / `outs.1.path` / `params.lr`: a readable path below a stage or the file. */
export function dotted(path: readonly (string | number)[]): string {
  return path.map(String).join('.');
}
