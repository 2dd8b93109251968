/**
 * A small real workspace for the report tests: tiny PNGs made with sharp,
 * metrics JSON files, and a pipeline.yaml of `cmd:` stages that copy these
 * prepared fixtures into their outs, laid out like the built-in stages
 * (synth preview/stats, deglare images+glare, train curve.csv, evaluate
 * metrics.json + pred/ + truth/ + errors/), each declaring its report views
 * in `report:` as the built-ins do. Values vary per stage so tests can check them.
 */
import sharp from 'sharp';
import { TestRepo } from '../helpers/repo.ts';

export const W = 32;
export const H = 24;
export const PALETTE: [number, number, number][] = [
  [0, 0, 0],
  [128, 0, 0],
  [0, 128, 0],
];
export const STEMS = ['a', 'b', 'c', 'd'];

/** mIoU per (train, test); the best is dark→dark-deglared. */
export const MIOU: Record<string, number> = {
  'bright-bright': 0.894,
  'bright-dark': 0.549,
  'dark-bright': 0.45,
  'dark-dark': 0.638,
  'bright-dark-deglared': 0.61,
  'dark-dark-deglared': 0.727,
};
/** Valve IoU per evaluation; the best is dark→dark-deglared. */
const VALVE: Record<string, number> = { 'bright-bright': 0.91, 'bright-dark': 0.4, 'dark-bright': 0.3, 'dark-dark': 0.55, 'bright-dark-deglared': 0.5, 'dark-dark-deglared': 0.95 };

/** Index labels: class 1 (valve) square, class 2 (pipe) band, background elsewhere. */
function labels(shift: number): Buffer {
  const b = Buffer.alloc(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) b[y * W + x] = y >= 16 ? 2 : x >= 4 + shift && x < 14 + shift && y >= 4 && y < 12 ? 1 : 0;
  return b;
}

function paletteRgb(idx: Buffer): Buffer {
  const out = Buffer.alloc(idx.length * 3);
  idx.forEach((c, i) => out.set(PALETTE[c]!, i * 3));
  return out;
}

/** Red where the labels differ, grey where they agree. */
function errorMap(truth: Buffer, pred: Buffer): Buffer {
  const out = Buffer.alloc(truth.length * 3);
  truth.forEach((t, i) => out.set(t === pred[i] ? [60, 60, 60] : [255, 40, 40], i * 3));
  return out;
}

function png(data: Buffer, channels: 1 | 3): Promise<Buffer> {
  return sharp(data, { raw: { width: W, height: H, channels } }).png().toBuffer();
}

function photo(seed: number, dark: boolean): Promise<Buffer> {
  const b = Buffer.alloc(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    const v = ((i * 7 + seed * 31) % 97) + (dark ? 10 : 120);
    b.set([v >> 1, v, Math.min(255, v + 40)], i * 3);
  }
  return png(b, 3);
}

export interface WorkspaceOptions {
  /** Makes train@dark fail (exit 3), so everything downstream of it does not run. */
  failDarkTraining?: boolean;
}

/** A YAML double-quoted string (JSON strings are valid YAML): commands hold `: ` and braces. */
const q = (s: string) => JSON.stringify(s);

const evalCmd = q(
  'mkdir -p results/${train}-${test} && cp fixtures/eval/${train}-${test}.json results/${train}-${test}/metrics.json && for d in pred truth errors; do rm -rf results/${train}-${test}/$d; cp -r fixtures/$d results/${train}-${test}/$d; done && cp fixtures/samples.json results/${train}-${test}/',
);

// What evaluate declares for itself, plus the rows named by sets (as the default pipeline.yaml does).
const evalReport = `
    report:
      - table: Segmentation scores
        file: results/\${train}-\${test}/metrics.json
        row:
          train set: \${sets.\${train}.light}
          train preprocessing: \${sets.\${train}.prep}
          test set: \${sets.\${test}.light}
          test preprocessing: \${sets.\${test}.prep}
        columns:
          - { label: mIoU, key: meanIoU, format: percent, best: max }
          - { label: IoU *, key: iou.*, format: percent, best: max, absentIf: classAccuracy.*, chart: true }
        bestWithin: [test set, test preprocessing]
      - images: Predictions
        columns: { image: \${params.images}, ground truth: results/\${train}-\${test}/truth, prediction: results/\${train}-\${test}/pred, errors: results/\${train}-\${test}/errors }
        from: errors
        captions: results/\${train}-\${test}/samples.json`;

const pipelineYaml = (o: WorkspaceOptions) => `
vars:
  sets:
    bright: { light: bright, prep: none }
    dark: { light: dark, prep: none }
    dark-deglared: { light: dark, prep: deglared }
stages:
  synth:
    cmd: ${q('mkdir -p data && rm -rf data/synth && cp -r fixtures/synth data/synth')}
    deps: [fixtures/synth]
    params: { width: ${W}, height: ${H}, images: ${STEMS.length} }
    outs: [data/synth]
    metrics: [data/synth/stats.json]
    report:
      - { dataset: Rendered data set, image: data/synth/preview.png, file: data/synth/stats.json }
  convert:
    cmd: ${q('mkdir -p work && rm -rf work/stats && cp -r fixtures/stats work/stats')}
    deps: [data/synth]
    outs: [work/stats]
    metrics: [work/stats/classes.json, work/stats/quality.json]
    report:
      - dataset: Class balance
        file: work/stats/classes.json
        bars: { list: classes, name: name, value: fraction, title: share of pixels }
      - dataset: Image quality
        file: work/stats/quality.json
        fields: { UIQM of the input: inputUiqm, UIQM enhanced: uiqm, UCIQE of the input: inputUciqe, UCIQE enhanced: uciqe }
  deglare:
    cmd: ${q('mkdir -p work/deglared && rm -rf work/deglared/dark && cp -r fixtures/deglared work/deglared/dark')}
    deps: [data/synth]
    params: { images: data/synth/dark/images, threshold: 100 }
    outs: [work/deglared/dark]
    metrics: [work/deglared/dark/glare.json]
    report:
      - images: Glare removal
        columns: { input: data/synth/dark/images, glare mask: work/deglared/dark/glare, deglared: work/deglared/dark/images }
      - dataset: Glare
        file: work/deglared/dark/glare.json
        fields: { mean glare share: meanGlareFraction, largest glare share: maxGlareFraction }
        percent: [mean glare share, largest glare share]
  train:
    foreach: [bright, dark]
    cmd: ${q(
      (o.failDarkTraining ? 'if [ ${item} = dark ]; then echo "loss is NaN at step 3" >&2; exit 3; fi; ' : '') +
        'mkdir -p models/${item} && cp fixtures/curve-${item}.csv models/${item}/curve.csv && echo \'{"finalLoss": 0.5}\' > models/${item}/train.json',
    )}
    deps: [data/synth]
    params:
      lr: 0.001
      steps: 20
      set: \${item}
    outs: [models/\${item}]
    report:
      - curve: Training curves
        file: models/\${item}/curve.csv
        x: step
        y: { loss: loss, learning rate: lr }
  evaluate:
    matrix: { train: [bright, dark], test: [bright, dark] }
    cmd: ${evalCmd}
    deps: [models/\${train}, data/synth]
    params:
      images: data/synth/\${test}/images
      labels: data/synth/\${test}/labels
    metrics: [results/\${train}-\${test}/metrics.json]
    outs: [results/\${train}-\${test}/pred, results/\${train}-\${test}/truth, results/\${train}-\${test}/errors, results/\${train}-\${test}/samples.json]${evalReport}
  evaluate-deglared:
    matrix: { train: [bright, dark], test: [dark-deglared] }
    cmd: ${evalCmd}
    deps: [models/\${train}, work/deglared/dark, data/synth]
    params:
      images: work/deglared/dark/images
      labels: data/synth/dark/labels
    metrics: [results/\${train}-\${test}/metrics.json]
    outs: [results/\${train}-\${test}/pred, results/\${train}-\${test}/truth, results/\${train}-\${test}/errors, results/\${train}-\${test}/samples.json]${evalReport}
`;

function curveCsv(seed: number): string {
  const lines = ['step,loss,lr,imagesPerSec'];
  for (let s = 1; s <= 20; s++) lines.push(`${s},${(2 / (1 + s * 0.3) + seed * 0.05).toFixed(4)},${(0.001 * (1 - (s - 1) / 20) ** 0.9).toExponential(4)},3.1`);
  return lines.join('\n') + '\n';
}

/** Evaluations whose test set has no valve pixels (as evaluate says it: classAccuracy null). */
export const NO_VALVE = new Set(['dark-bright']);

function metricsJson(key: string): string {
  const miou = MIOU[key]!;
  const valve = VALVE[key]!;
  const classAccuracy = { background: 0.9, valve: NO_VALVE.has(key) ? null : 0.8, pipe: 0.7 };
  return JSON.stringify({ meanIoU: miou, pixelAccuracy: miou + 0.05, iou: { background: 0.95, valve: NO_VALVE.has(key) ? 0 : valve, pipe: 3 * miou - 0.95 - valve }, classAccuracy, classes: ['background', 'valve', 'pipe'], confusion: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] });
}

/** Creates the workspace (not yet run). */
export async function createReportWorkspace(o: WorkspaceOptions = {}): Promise<TestRepo> {
  const repo = await TestRepo.create({ 'pipeline.yaml': pipelineYaml(o) });
  const files: [string, Promise<Buffer> | string][] = [];
  for (const [i, stem] of STEMS.entries()) {
    for (const set of ['bright', 'dark']) {
      files.push([`fixtures/synth/${set}/images/${stem}.png`, photo(i, set === 'dark')]);
      files.push([`fixtures/synth/${set}/labels/${stem}.png`, png(labels(i), 1)]);
    }
    files.push([`fixtures/deglared/images/${stem}.png`, photo(i + 5, false)]);
    const glare = Buffer.alloc(W * H, 0);
    for (let x = 0; x < W; x++) glare[10 * W + x] = 255;
    files.push([`fixtures/deglared/glare/${stem}.png`, png(glare, 1)]);
    // Predictions a little off the truth, in palette colours; the truth in colour; an error map.
    files.push([`fixtures/pred/${stem}.png`, png(paletteRgb(labels(i + 2)), 3)]);
    files.push([`fixtures/truth/${stem}.png`, png(paletteRgb(labels(i)), 3)]);
    files.push([`fixtures/errors/${stem}.png`, png(errorMap(labels(i), labels(i + 2)), 3)]);
  }
  const sheet = await sharp({ create: { width: 4 * W, height: H, channels: 3, background: { r: 20, g: 90, b: 140 } } }).png().toBuffer();
  files.push(['fixtures/synth/preview.png', Promise.resolve(sheet)]);
  files.push(['fixtures/synth/stats.json', JSON.stringify({ images: 8, conditions: 2, seed: 7 })]);
  files.push([
    'fixtures/stats/classes.json',
    JSON.stringify({ files: 8, classes: [{ index: 0, name: 'background', fraction: 0.7 }, { index: 1, name: 'valve', fraction: 0.1 }, { index: 2, name: 'pipe', fraction: 0.2 }], unknownFraction: 0 }),
  ]);
  files.push(['fixtures/stats/quality.json', JSON.stringify({ images: 4, uiqm: 2.5, uciqe: 0.61, inputUiqm: 1.2, inputUciqe: 0.44 })]);
  files.push(['fixtures/deglared/glare.json', JSON.stringify({ images: 4, meanGlareFraction: 0.042, maxGlareFraction: 0.06 })]);
  files.push(['fixtures/samples.json', JSON.stringify(Object.fromEntries(STEMS.map((s, i) => [s, `${(2 + i).toFixed(1)}% wrong`])))]);
  files.push(['fixtures/curve-bright.csv', curveCsv(0)]);
  files.push(['fixtures/curve-dark.csv', curveCsv(1)]);
  for (const key of Object.keys(MIOU)) files.push([`fixtures/eval/${key}.json`, metricsJson(key)]);
  for (const [rel, data] of files) await repo.write(rel, typeof data === 'string' ? data : await data);
  return repo;
}
