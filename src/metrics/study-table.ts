/**
 * The study's results table: one row per evaluation (a stage instance with
 * matrix bindings `train` and `test`), columns train set, train
 * preprocessing, test set, test preprocessing, mIoU and IoU per class, with
 * the best value of each score column marked. Used by `pipe report` (and
 * later `pipe metrics`).
 */
import type { MetricsRow } from './collect.ts';

/** A set name as used in matrix bindings: `dark-deglared` is set `dark`, preprocessing `deglared`. */
export interface SetName {
  set: string;
  prep: string;
}

export interface StudyRow {
  stage: string;
  train: SetName;
  test: SetName;
  /** Mean IoU in [0, 1], when the metrics file has one. */
  miou?: number;
  /** IoU per class name, in [0, 1]. */
  iou: Record<string, number>;
}

export interface StudyTable {
  /** Class names in first-seen order (the order evaluate writes them). */
  classes: string[];
  rows: StudyRow[];
  /** Best (highest) value per score column: `mIoU` and `iou.<class>`. */
  best: Record<string, number>;
}

/** Splits a set name at its first dash; no dash means preprocessing `none`. */
export function splitSetName(name: string): SetName {
  const i = name.indexOf('-');
  return i <= 0 ? { set: name, prep: 'none' } : { set: name.slice(0, i), prep: name.slice(i + 1) };
}

// evaluate writes `meanIoU`; hand-written cmd stages may say mIoU or miou.
const MIOU_KEYS = ['meanIoU', 'mIoU', 'miou', 'mean_iou'];

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Builds the study table from flattened metrics rows; rows without train/test bindings are left out. */
export function studyTable(metrics: MetricsRow[]): StudyTable {
  const rows: StudyRow[] = [];
  const classes: string[] = [];
  for (const m of metrics) {
    const train = m.bindings.train;
    const test = m.bindings.test;
    if (train === undefined || test === undefined) continue;
    const miou = MIOU_KEYS.map((k) => num(m.values[k])).find((v) => v !== undefined);
    const iou: Record<string, number> = {};
    for (const [k, v] of Object.entries(m.values)) {
      const n = num(v);
      if (!k.startsWith('iou.') || n === undefined) continue;
      const cls = k.slice(4);
      iou[cls] = n;
      if (!classes.includes(cls)) classes.push(cls);
    }
    if (miou === undefined && Object.keys(iou).length === 0) continue; // not a segmentation score
    rows.push({ stage: m.stage, train: splitSetName(train), test: splitSetName(test), ...(miou !== undefined ? { miou } : {}), iou });
  }
  const best: Record<string, number> = {};
  const consider = (col: string, v: number | undefined) => {
    if (v !== undefined && (best[col] === undefined || v > best[col])) best[col] = v;
  };
  for (const r of rows) {
    consider('mIoU', r.miou);
    for (const c of classes) consider(`iou.${c}`, r.iou[c]);
  }
  return { classes, rows, best };
}

/** True when `value` is the best of column `col` (ties are all best). */
export function isBest(t: StudyTable, col: string, value: number | undefined): boolean {
  return value !== undefined && t.best[col] === value;
}

/** Percent with one decimal, as the study reports IoU ("72.6%"). */
export function percent(v: number | undefined): string {
  return v === undefined ? '-' : `${(100 * v).toFixed(1)}%`;
}
