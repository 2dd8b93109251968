/**
 * Params as dotted keys (`aug.flip`), and which of them changed between two
 * runs. The one flattening used for stage reasons, `pipe params diff` and the
 * report: objects are walked, arrays and scalars are leaves, an empty object
 * at a key is a leaf of its own.
 */

/** Dotted key -> leaf value (arrays kept whole). */
export function flattenParamValues(value: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (v: unknown, prefix: string): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length === 0 && prefix) out.set(prefix, v);
      for (const [k, x] of entries) walk(x, prefix ? `${prefix}.${k}` : k);
    } else if (prefix) {
      out.set(prefix, v);
    }
  };
  walk(value, '');
  return out;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface ParamChange {
  key: string;
  old: unknown;
  new: unknown;
}

/** The params that differ (with `all`, every param), sorted by key; a key absent on one side has undefined there. */
export function diffParams(before: unknown, after: unknown, o: { all?: boolean } = {}): ParamChange[] {
  const a = flattenParamValues(before);
  const b = flattenParamValues(after);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => o.all || !same(a.get(k), b.get(k))).map((k) => ({ key: k, old: a.get(k), new: b.get(k) }));
}
