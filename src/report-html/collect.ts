/**
 * Gathers what the HTML report shows from a session: planning (state and
 * reasons of every stage), the lock (durations, params), metrics files, the
 * study table, training curves, sample rows of each evaluation and data set
 * previews. Anything missing becomes a note in its section, never a crash:
 * the report of a partly failed run must still render.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Failure } from '../failure.ts';
import type { Session } from '../run/session.ts';
import type { StageInstance } from '../model.ts';
import { planStages } from '../plan/plan.ts';
import { formatReason, statusState } from '../report/format-status.ts';
import { collectMetrics, type MetricsRow } from '../metrics/collect.ts';
import { studyTable, type StudyTable } from '../metrics/study-table.ts';
import { DEFAULT_PALETTE, labelPictures, thumbnail } from './images.ts';
import type { CurvePoint } from './charts.ts';
import { readLastRun } from './last-run.ts';

/** Sample rows shown per evaluation. */
export const SAMPLES_PER_EVALUATION = 3;
/** Curve points kept per training stage (evenly thinned). */
const MAX_CURVE_POINTS = 400;

export type Picture = { uri: string } | { error: string } | { none: string };

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

export interface SampleRow {
  stem: string;
  input: Picture;
  preprocessed: Picture;
  glare: Picture;
  truth: Picture;
  prediction: Picture;
  errors: Picture;
  errorRate?: number;
}

export interface EvaluationView {
  stage: string;
  notes: string[];
  samples: SampleRow[];
}

export type DatasetView =
  | { stage: string; kind: 'synth'; file: string; preview: Picture; stats: Record<string, unknown> }
  | { stage: string; kind: 'classes'; file: string; classes: { name: string; fraction: number; pixels?: number }[]; unknownFraction?: number }
  | { stage: string; kind: 'quality'; file: string; uiqm?: number; uciqe?: number; inputUiqm?: number; inputUciqe?: number; images?: number }
  | { stage: string; kind: 'glare'; file: string; meanGlareFraction?: number; maxGlareFraction?: number; images?: number };

export interface ReportData {
  title: string;
  generatedAt: string;
  stages: StageView[];
  planFailures: Failure[];
  /** Failures recorded by the last run for stages still not up to date (a fixed stage's old failure is dropped). */
  runFailures: Failure[];
  lastRunAt?: string;
  metrics: MetricsRow[];
  study: StudyTable;
  curves: { stage: string; file: string; points: CurvePoint[] }[];
  evaluations: EvaluationView[];
  datasets: DatasetView[];
  /** Things the report could not read, shown in a notes section. */
  notes: string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

async function readJson(abs: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(abs, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Parses a CSV with a header naming step, loss and lr (extra columns ignored). */
export function parseCurveCsv(text: string): CurvePoint[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const head = lines[0]?.split(',').map((h) => h.trim().toLowerCase()) ?? [];
  const col = (names: string[]) => head.findIndex((h) => names.includes(h));
  const [si, li, ri] = [col(['step', 'iteration', 'iter']), col(['loss', 'train_loss']), col(['lr', 'learning_rate', 'learningrate'])];
  if (si < 0 || (li < 0 && ri < 0)) return [];
  const points: CurvePoint[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const step = Number(cells[si]);
    if (!Number.isFinite(step)) continue;
    const p: CurvePoint = { step };
    const loss = li >= 0 ? Number(cells[li]) : NaN;
    const lr = ri >= 0 ? Number(cells[ri]) : NaN;
    if (Number.isFinite(loss)) p.loss = loss;
    if (Number.isFinite(lr)) p.lr = lr;
    points.push(p);
  }
  if (points.length <= MAX_CURVE_POINTS) return points;
  const every = Math.ceil(points.length / MAX_CURVE_POINTS);
  return points.filter((_, i) => i % every === 0 || i === points.length - 1);
}

/** Training curves: `curve.csv` inside an out folder, or an out that is itself a `*curve*.csv`. */
async function curvesOf(s: Session, st: StageInstance): Promise<ReportData['curves']> {
  const found: ReportData['curves'] = [];
  for (const o of st.outs) {
    const candidates = /curve[^/]*\.csv$/i.test(o.path) ? [o.path] : [`${o.path}/curve.csv`];
    for (const rel of candidates) {
      let text: string;
      try {
        text = await readFile(path.join(s.root, rel), 'utf8');
      } catch {
        continue;
      }
      const points = parseCurveCsv(text);
      if (points.length) found.push({ stage: st.name, file: rel, points });
    }
  }
  return found;
}

/** Files of a folder by stem (name without extension); empty if the folder is absent. */
async function byStem(absDir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  const names = await readdir(absDir).catch(() => [] as string[]);
  for (const n of names.sort()) {
    const stem = n.replace(/\.[^.]+$/, '');
    if (!m.has(stem)) m.set(stem, path.join(absDir, n));
  }
  return m;
}

function paletteOf(params: Record<string, unknown>): [number, number, number][] {
  const p = params.palette;
  const ok = Array.isArray(p) && p.length >= 2 && p.every((c) => Array.isArray(c) && c.length === 3 && c.every((x) => typeof x === 'number'));
  return ok ? (p as [number, number, number][]) : DEFAULT_PALETTE;
}

async function pic(abs: string | undefined, missing: string): Promise<Picture> {
  return abs ? thumbnail(abs) : { none: missing };
}

/**
 * Sample rows of one evaluation. Predictions are `<out>/pred/<stem>.png` (the
 * evaluate stage's layout; for cmd stages, `pred/` beside the metrics file);
 * images and labels come from the params `images` and `labels`. The raw input
 * is the `images` param of the stage that produced the preprocessed images,
 * and a glare mask is `glare/<stem>.png` beside a deglared `images/` folder.
 */
async function evaluationOf(s: Session, st: StageInstance): Promise<EvaluationView> {
  const notes: string[] = [];
  const outDir = st.uses === 'evaluate' ? str(st.params.out) : st.metrics[0] ? path.posix.dirname(st.metrics[0]) : undefined;
  if (!outDir) return { stage: st.name, notes: ['no output folder to find predictions in'], samples: [] };
  const preds = [...(await byStem(path.join(s.root, outDir, 'pred'))).entries()].filter(([, f]) => f.endsWith('.png'));
  if (preds.length === 0) return { stage: st.name, notes: [`no predictions in ${outDir}/pred (has the stage run?)`], samples: [] };
  const images = str(st.params.images);
  const labels = str(st.params.labels);
  if (!images) notes.push('the stage has no `images` param: input images not shown');
  if (!labels) notes.push('the stage has no `labels` param: ground truth and errors not shown');
  const producer = images ? s.graph.producerOf(images) : undefined;
  const rawDir = producer ? str(s.graph.stages.get(producer)?.params.images) : undefined;
  const raw = rawDir && rawDir !== images ? await byStem(path.join(s.root, rawDir)) : undefined;
  const pre = images ? await byStem(path.join(s.root, images)) : new Map<string, string>();
  const glareDir = images && path.posix.basename(images) === 'images' ? path.posix.join(path.posix.dirname(images), 'glare') : undefined;
  const glare = glareDir ? await byStem(path.join(s.root, glareDir)) : new Map<string, string>();
  const palette = paletteOf(st.params);
  const samples: SampleRow[] = [];
  const step = Math.max(1, Math.floor(preds.length / SAMPLES_PER_EVALUATION));
  for (let i = 0; i < preds.length && samples.length < SAMPLES_PER_EVALUATION; i += step) {
    const [stem, predAbs] = preds[i]!;
    const truthAbs = labels ? path.join(s.root, labels, `${stem}.png`) : undefined;
    const labelsPics = truthAbs && existsSync(truthAbs) ? await labelPictures(truthAbs, predAbs, palette) : undefined;
    const row: SampleRow = {
      stem,
      input: await pic(raw ? raw.get(stem) : pre.get(stem), images ? `no image ${stem}.* in ${raw ? rawDir : images}` : 'no images param'),
      preprocessed: raw ? await pic(pre.get(stem), `no image ${stem}.* in ${images}`) : { none: 'no preprocessing' },
      glare: await pic(glare.get(stem), glare.size ? `no glare mask ${stem}.png in ${glareDir}` : 'no glare mask'),
      truth: !labelsPics ? { none: labels ? `no label ${labels}/${stem}.png` : 'no labels param' } : 'error' in labelsPics ? labelsPics : { uri: labelsPics.truth },
      prediction: await thumbnail(predAbs),
      errors: !labelsPics ? { none: 'no ground truth' } : 'error' in labelsPics ? labelsPics : { uri: labelsPics.errors },
    };
    if (labelsPics && !('error' in labelsPics)) row.errorRate = labelsPics.errorRate;
    samples.push(row);
  }
  return { stage: st.name, notes, samples };
}

/** Data set previews from metrics files the built-in stages write, recognised by file name. */
async function datasetsOf(s: Session, st: StageInstance): Promise<DatasetView[]> {
  const views: DatasetView[] = [];
  for (const file of st.metrics) {
    const base = path.posix.basename(file);
    const j = await readJson(path.join(s.root, file));
    if (typeof j !== 'object' || j === null) continue;
    const o = j as Record<string, unknown>;
    if (base === 'stats.json') {
      const preview = path.join(s.root, path.posix.dirname(file), 'preview.png');
      views.push({ stage: st.name, kind: 'synth', file, preview: existsSync(preview) ? await thumbnail(preview, 720) : { none: 'no preview.png' }, stats: o });
    } else if (base === 'classes.json' && Array.isArray(o.classes)) {
      const classes = (o.classes as unknown[]).flatMap((c) => {
        const x = c as Record<string, unknown>;
        const fraction = num(x?.fraction);
        return fraction === undefined ? [] : [{ name: String(x.name ?? x.index ?? '?'), fraction, ...(num(x.pixels) !== undefined ? { pixels: num(x.pixels)! } : {}) }];
      });
      views.push({ stage: st.name, kind: 'classes', file, classes, ...(num(o.unknownFraction) !== undefined ? { unknownFraction: num(o.unknownFraction)! } : {}) });
    } else if (base === 'quality.json') {
      const pick = (k: string) => (num(o[k]) !== undefined ? { [k]: num(o[k]) } : {});
      views.push({ stage: st.name, kind: 'quality', file, ...pick('uiqm'), ...pick('uciqe'), ...pick('inputUiqm'), ...pick('inputUciqe'), ...pick('images') });
    } else if (base === 'glare.json') {
      const pick = (k: string) => (num(o[k]) !== undefined ? { [k]: num(o[k]) } : {});
      views.push({ stage: st.name, kind: 'glare', file, ...pick('meanGlareFraction'), ...pick('maxGlareFraction'), ...pick('images') });
    }
  }
  return views;
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
  const study = studyTable(metrics);
  const evalNames = new Set(study.rows.map((r) => r.stage));
  const curves: ReportData['curves'] = [];
  const evaluations: EvaluationView[] = [];
  const datasets: DatasetView[] = [];
  for (const name of s.graph.order) {
    const st = s.graph.stages.get(name)!;
    curves.push(...(await curvesOf(s, st)));
    // Evaluations that have not run yet (or failed) still get a section saying so.
    const looksEvaluation = st.bindings.train !== undefined && st.bindings.test !== undefined && st.metrics.length > 0;
    if (st.uses === 'evaluate' || evalNames.has(name) || looksEvaluation) evaluations.push(await evaluationOf(s, st));
    datasets.push(...(await datasetsOf(s, st)));
  }
  const notes = metrics.filter((m) => m.error).map((m) => m.error!);
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
    study,
    curves,
    evaluations,
    datasets,
    notes,
  };
}
