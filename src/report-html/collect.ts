/**
 * Gathers what the HTML report shows from a session: planning (state and
 * reasons of every stage), the lock (durations, params), and the report views
 * the stages declare (tables, curves, image strips, data set views; see
 * src/report-views.ts). Anything missing becomes a note in its section, never
 * a crash: the report of a partly failed run must still render.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Failure } from '../failure.ts';
import type { Session } from '../run/session.ts';
import type { CurveView, DatasetView, ImagesView } from '../report-views.ts';
import { planStages } from '../plan/plan.ts';
import { formatReason, statusState } from '../report/format-status.ts';
import { collectMetrics, type MetricsRow } from '../metrics/collect.ts';
import { atKey, collectTables, type TableData } from '../metrics/tables.ts';
import { embedPicture, isPictureFile, type Picture } from './embed.ts';
import { readLastRun } from './last-run.ts';

export type { Picture } from './embed.ts';

/** Rows of an image strip when the view does not say. */
export const DEFAULT_SAMPLES = 3;
/** Curve points kept per line (evenly thinned). */
const MAX_CURVE_POINTS = 400;

export interface StageView {
  name: string;
  template: string;
  kind: 'uses' | 'cmd';
  what: string;
  /** `pipe status` word: up to date, stale, never run, restorable from cache, or 'cannot plan'. */
  state: string;
  reasons: string[];
  lastDurationMs?: number;
  ranAt?: string;
  params: Record<string, unknown>;
}

/** One chart: a line per stage instance, a panel per y column. */
export interface CurveChart {
  title: string;
  x: string;
  panels: string[];
  lines: { stage: string; file: string; points: { x: number; panel: string; value: number }[] }[];
  notes: string[];
}

export interface StripView {
  title: string;
  stage: string;
  columns: string[];
  rows: { stem: string; caption?: string; pictures: Picture[] }[];
  notes: string[];
}

export interface DatasetPanel {
  title: string;
  stage: string;
  file?: string;
  image?: Picture;
  fields: { label: string; value: number | string | boolean; percent: boolean }[];
  bars?: { title: string; items: { name: string; value: number }[] };
  notes: string[];
}

export interface ReportData {
  title: string;
  generatedAt: string;
  stages: StageView[];
  planFailures: Failure[];
  /** Failures recorded by the last run for stages still not up to date (a fixed stage's old failure is dropped). */
  runFailures: Failure[];
  lastRunAt?: string;
  metrics: MetricsRow[];
  tables: TableData[];
  curves: CurveChart[];
  strips: StripView[];
  datasets: DatasetPanel[];
  /** Things the report could not read, shown in a notes section. */
  notes: string[];
}

async function readJson(abs: string): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> {
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    return { ok: false, error: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not written yet' : (e as Error).message };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, error: `not valid JSON: ${(e as Error).message}` };
  }
}

/** The columns of a CSV with a header row, by name; non-numbers read as NaN. */
export function parseCsvColumns(text: string): Map<string, number[]> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const head = lines[0]?.split(',').map((h) => h.trim()) ?? [];
  const cols = new Map<string, number[]>(head.map((h) => [h, []]));
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    head.forEach((h, i) => cols.get(h)!.push(cells[i] === undefined || cells[i]!.trim() === '' ? NaN : Number(cells[i])));
  }
  return cols;
}

function yColumns(v: CurveView): [label: string, column: string][] {
  return Array.isArray(v.y) ? v.y.map((c) => [c, c]) : Object.entries(v.y);
}

async function curveLine(root: string, stage: string, v: CurveView, chart: CurveChart): Promise<void> {
  let text: string;
  try {
    text = await readFile(path.join(root, v.file), 'utf8');
  } catch {
    chart.notes.push(`${stage}: no ${v.file} yet`);
    return;
  }
  const cols = parseCsvColumns(text);
  const xs = cols.get(v.x);
  if (!xs) {
    chart.notes.push(`${stage}: ${v.file} has no column '${v.x}' (its columns: ${[...cols.keys()].join(', ')})`);
    return;
  }
  const points: CurveChart['lines'][number]['points'] = [];
  for (const [label, column] of yColumns(v)) {
    const ys = cols.get(column);
    if (!ys) {
      chart.notes.push(`${stage}: ${v.file} has no column '${column}'`);
      continue;
    }
    if (!chart.panels.includes(label)) chart.panels.push(label);
    const idx = xs.flatMap((x, i) => (Number.isFinite(x) && Number.isFinite(ys[i]!) ? [i] : []));
    const every = Math.max(1, Math.ceil(idx.length / MAX_CURVE_POINTS));
    idx.forEach((i, n) => {
      if (n % every === 0 || n === idx.length - 1) points.push({ x: xs[i]!, panel: label, value: ys[i]! });
    });
  }
  if (points.length) chart.lines.push({ stage, file: v.file, points });
}

/** Picture files of a folder by stem (name without extension); empty if the folder is absent. */
async function byStem(absDir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  const names = await readdir(absDir).catch(() => [] as string[]);
  for (const n of names.sort()) {
    if (!isPictureFile(n)) continue;
    const stem = n.replace(/\.[^.]+$/, '');
    if (!m.has(stem)) m.set(stem, n);
  }
  return m;
}

async function stripOf(root: string, stage: string, v: ImagesView): Promise<StripView> {
  const columns = Object.keys(v.columns);
  const strip: StripView = { title: v.images, stage, columns, rows: [], notes: [] };
  const files = new Map<string, Map<string, string>>();
  for (const c of columns) files.set(c, await byStem(path.join(root, v.columns[c]!)));
  const from = v.from !== undefined && files.has(v.from) ? v.from : columns[0];
  const stems = from ? [...files.get(from)!.keys()] : [];
  if (stems.length === 0) {
    strip.notes.push(from ? `no pictures in ${v.columns[from]} (has the stage run?)` : 'no columns declared');
    return strip;
  }
  let captions: Record<string, unknown> = {};
  if (v.captions) {
    const j = await readJson(path.join(root, v.captions));
    if (j.ok && j.value && typeof j.value === 'object') captions = j.value as Record<string, unknown>;
  }
  const n = Math.min(stems.length, v.samples ?? DEFAULT_SAMPLES);
  for (let i = 0; i < n; i++) {
    const stem = stems[Math.floor((i * stems.length) / n)]!;
    const pictures: Picture[] = [];
    for (const c of columns) {
      const dir = v.columns[c]!;
      const name = files.get(c)!.get(stem);
      pictures.push(name ? await embedPicture(path.join(root, dir, name), `${dir}/${name}`) : { none: `no ${stem}.* in ${dir}` });
    }
    const caption = captions[stem];
    strip.rows.push({ stem, pictures, ...(typeof caption === 'string' ? { caption } : {}) });
  }
  return strip;
}

const scalar = (v: unknown): v is number | string | boolean => (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string' || typeof v === 'boolean';

async function datasetOf(root: string, stage: string, v: DatasetView): Promise<DatasetPanel> {
  const panel: DatasetPanel = { title: v.dataset, stage, fields: [], notes: [] };
  if (v.image) panel.image = await embedPicture(path.join(root, v.image), v.image);
  if (v.file) {
    panel.file = v.file;
    const j = await readJson(path.join(root, v.file));
    if (!j.ok) panel.notes.push(`${v.file}: ${j.error}`);
    else {
      const fields = v.fields ?? Object.fromEntries(Object.keys(j.value as object).filter((k) => scalar((j.value as Record<string, unknown>)[k])).map((k) => [k, k]));
      for (const [label, key] of Object.entries(fields)) {
        const x = atKey(j.value, key);
        if (scalar(x)) panel.fields.push({ label, value: x, percent: v.percent?.includes(label) ?? false });
      }
      if (v.bars) {
        const list = atKey(j.value, v.bars.list);
        const items = Array.isArray(list)
          ? list.flatMap((o) => {
              const value = atKey(o, v.bars!.value);
              return typeof value === 'number' && Number.isFinite(value) ? [{ name: String(atKey(o, v.bars!.name) ?? '?'), value }] : [];
            })
          : [];
        if (items.length) panel.bars = { title: v.bars.title ?? v.bars.value, items };
        else panel.notes.push(`${v.file}: no list '${v.bars.list}' of objects with a number '${v.bars.value}'`);
      }
    }
  }
  return panel;
}

/** Everything the report shows, read from the working tree, the lock and planning. */
export async function collectReport(s: Session, o: { now?: Date } = {}): Promise<ReportData> {
  const plan = await planStages(s, s.graph.order, { forced: new Set() });
  const planned = new Map(plan.planned.map((p) => [p.stage, p]));
  const stages: StageView[] = s.graph.order.map((name) => {
    const st = s.graph.stages.get(name)!;
    const p = planned.get(name);
    const entry = s.lock.stages[name];
    const failed = plan.failures.filter((f) => f.stage === name).map((f) => f.message);
    return {
      name,
      template: st.template,
      kind: st.kind,
      what: st.kind === 'uses' ? `uses: ${st.uses ?? '?'}` : `cmd: ${st.cmd ?? ''}`,
      state: p ? statusState(p) : 'cannot plan',
      reasons: p ? p.reasons.map(formatReason) : failed,
      ...(entry ? { lastDurationMs: entry.durationMs, ranAt: entry.ranAt } : {}),
      params: st.params,
    };
  });
  const metrics = await collectMetrics(s.graph, s.root);
  const tables = await collectTables(s.graph, s.root);
  const charts = new Map<string, CurveChart>();
  const strips: StripView[] = [];
  const datasets: DatasetPanel[] = [];
  for (const name of s.graph.order) {
    for (const v of s.graph.stages.get(name)!.report) {
      if ('curve' in v) {
        let c = charts.get(v.curve);
        if (!c) charts.set(v.curve, (c = { title: v.curve, x: v.x, panels: [], lines: [], notes: [] }));
        await curveLine(s.root, name, v, c);
      } else if ('images' in v) strips.push(await stripOf(s.root, name, v));
      else if ('dataset' in v) datasets.push(await datasetOf(s.root, name, v));
    }
  }
  const notes = [...metrics.filter((m) => m.error).map((m) => m.error!), ...tables.flatMap((t) => t.errors)];
  const lastRun = await readLastRun(s.pipeDir);
  const notUpToDate = new Set(stages.filter((x) => x.state !== 'up to date').map((x) => x.name));
  const runFailures = (lastRun?.failures ?? []).filter((f) => !f.stage || notUpToDate.has(f.stage));
  return {
    title: `pipe report: ${path.basename(s.root)}`,
    generatedAt: (o.now ?? new Date()).toISOString(),
    stages,
    planFailures: plan.failures,
    runFailures,
    ...(lastRun ? { lastRunAt: lastRun.finishedAt } : {}),
    metrics,
    tables,
    curves: [...charts.values()],
    strips,
    datasets,
    notes: [...new Set(notes)],
  };
}
