/**
 * The tables stages declare (report views of kind `table`): one row per
 * declaring stage instance, cells read from its JSON file by dotted key.
 * Shared by `pipe metrics` and `pipe report`. Nothing here knows a stage or a
 * metrics file by name.
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import type { Graph } from '../graph.ts';
import type { TableColumn, TableView } from '../report-views.ts';

export type Cell = { value: number | string | boolean } | { absent: true } | { missing: true };

export interface TableRow {
  stage: string;
  file: string;
  /** Row label -> value (the row's name cells). */
  keys: Record<string, string>;
  /** Column label -> cell. */
  cells: Record<string, Cell>;
  /** Column labels whose cell in this row is the best among comparable rows. */
  best: Set<string>;
}

export interface TableData {
  title: string;
  /** Labels of the cells naming a row, in declaration order. */
  rowKeys: string[];
  /** Value columns after `*` expansion, with the declaration each came from. */
  columns: { label: string; column: TableColumn; sub?: string }[];
  rows: TableRow[];
  /** Files that could not be read as JSON (not the ones not written yet). */
  errors: string[];
}

/** The value at a dotted key: undefined when absent, null when the file says null. */
export function atKey(obj: unknown, key: string): unknown {
  let v: unknown = obj;
  for (const part of key.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function subKeys(obj: unknown, key: string): string[] {
  const parent = atKey(obj, key.slice(0, -2));
  return parent !== null && typeof parent === 'object' && !Array.isArray(parent) ? Object.keys(parent) : [];
}

function cellOf(obj: unknown, c: TableColumn, sub: string | undefined): Cell {
  const key = sub === undefined ? c.key : `${c.key.slice(0, -1)}${sub}`;
  if (c.absentIf !== undefined) {
    const a = atKey(obj, sub === undefined ? c.absentIf : c.absentIf.replace('*', sub));
    if (a === null) return { absent: true };
  }
  const v = atKey(obj, key);
  if (v === null) return { absent: true };
  if (typeof v === 'number' ? Number.isFinite(v) : typeof v === 'string' || typeof v === 'boolean') return { value: v as number | string | boolean };
  return { missing: true };
}

/** Collects every declared table of the graph, tables in the order first declared, rows in stage order. */
export async function collectTables(g: Graph, root: string, read = (p: string) => readFile(p, 'utf8')): Promise<TableData[]> {
  const tables = new Map<string, TableData>();
  const parsed: { table: TableData; view: TableView; stage: string; json: unknown }[] = [];
  for (const name of g.order) {
    const st = g.stages.get(name)!;
    for (const v of st.report) {
      if (!('table' in v)) continue;
      let t = tables.get(v.table);
      if (!t) tables.set(v.table, (t = { title: v.table, rowKeys: [], columns: [], rows: [], errors: [] }));
      for (const k of Object.keys(v.row ?? { stage: '' })) if (!t.rowKeys.includes(k)) t.rowKeys.push(k);
      let text: string;
      try {
        text = await read(path.join(root, v.file));
      } catch {
        continue; // not produced yet: `pipe status` says why
      }
      try {
        parsed.push({ table: t, view: v, stage: name, json: JSON.parse(text) as unknown });
      } catch (e) {
        t.errors.push(`${v.file} is not valid JSON: ${(e as Error).message}`);
      }
    }
  }
  // Columns: `*` expands to the sub-keys seen in any row, in first-seen order.
  for (const { table: t, view, json } of parsed) {
    for (const c of view.columns) {
      const subs = c.key.endsWith('.*') ? subKeys(json, c.key) : [undefined];
      for (const sub of subs) {
        const label = sub === undefined ? c.label : c.label.includes('*') ? c.label.replace('*', sub) : `${c.label} ${sub}`;
        if (!t.columns.some((x) => x.label === label)) t.columns.push({ label, column: c, ...(sub !== undefined ? { sub } : {}) });
      }
    }
  }
  for (const { table: t, view, stage, json } of parsed) {
    const keys = view.row ?? { stage };
    const cells: Record<string, Cell> = {};
    for (const col of t.columns) {
      const own = view.columns.find((c) => c.key === col.column.key && c.label === col.column.label);
      cells[col.label] = own ? cellOf(json, own, col.sub) : { missing: true };
    }
    t.rows.push({ stage, file: view.file, keys, cells, best: new Set() });
  }
  for (const t of tables.values()) markBest(t, parsed.find((p) => p.table === t)?.view.bestWithin ?? []);
  return [...tables.values()];
}

/**
 * Marks the best numeric cell of each column with `best`, within groups of
 * rows equal on `within`: ties are all best, but a group whose values are all
 * equal (or that has one value) gets no mark.
 */
function markBest(t: TableData, within: string[]): void {
  const groups = new Map<string, TableRow[]>();
  for (const r of t.rows) {
    const g = JSON.stringify(within.map((k) => r.keys[k] ?? ''));
    groups.set(g, [...(groups.get(g) ?? []), r]);
  }
  for (const col of t.columns) {
    const dir = col.column.best;
    if (!dir) continue;
    for (const rows of groups.values()) {
      const nums = rows.flatMap((r) => {
        const c = r.cells[col.label];
        return c && 'value' in c && typeof c.value === 'number' ? [{ r, v: c.value }] : [];
      });
      if (nums.length < 2) continue; // a lone value is not "best" of anything
      const [hi, lo] = [Math.max(...nums.map((x) => x.v)), Math.min(...nums.map((x) => x.v))];
      if (hi === lo) continue; // all equal: nothing stands out (e.g. a class no model predicts yet)
      const best = dir === 'max' ? hi : lo;
      for (const x of nums) if (x.v === best) x.r.best.add(col.label);
    }
  }
}

/** A cell as text: percentages with one decimal, other numbers to 4 significant digits. */
export function cellText(c: Cell | undefined, col: TableColumn): string {
  if (!c || 'missing' in c) return '-';
  if ('absent' in c) return 'absent';
  const v = c.value;
  if (typeof v !== 'number') return String(v);
  if (col.format === 'percent') return `${(100 * v).toFixed(1)}%`;
  return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
}
