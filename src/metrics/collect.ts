/**
 * Reads every stage's metrics files and flattens them into scalar columns, for
 * `pipe metrics`, `pipe metrics diff` and the report. Arrays (confusion
 * matrices, curves) are left out: they do not fit a table cell.
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import type { Graph } from '../graph.ts';

export interface MetricsRow {
  stage: string;
  /** foreach/matrix bindings of the stage instance, e.g. {train: 'dark', test: 'bright'}. */
  bindings: Record<string, string>;
  file: string;
  values: Record<string, number | string | boolean>;
  error?: string;
}

export function flattenScalars(value: unknown, prefix = '', out: Record<string, number | string | boolean> = {}): Record<string, number | string | boolean> {
  if (value === null || value === undefined) return out;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
    if (prefix) out[prefix] = value;
    return out;
  }
  if (Array.isArray(value)) return out;
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flattenScalars(v, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

/** Reads metrics from the working tree (or any root holding the same layout). */
export async function collectMetrics(g: Graph, root: string, read = (p: string) => readFile(p, 'utf8')): Promise<MetricsRow[]> {
  const rows: MetricsRow[] = [];
  for (const name of g.order) {
    const st = g.stages.get(name)!;
    for (const file of st.metrics) {
      let text: string;
      try {
        text = await read(path.join(root, file));
      } catch {
        continue; // not produced yet: `pipe status` tells why
      }
      try {
        rows.push({ stage: name, bindings: st.bindings, file, values: flattenScalars(JSON.parse(text)) });
      } catch (e) {
        rows.push({ stage: name, bindings: st.bindings, file, values: {}, error: `${file} is not valid JSON: ${(e as Error).message}` });
      }
    }
  }
  return rows;
}
