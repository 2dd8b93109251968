/**
 * A small real workspace for the report tests: tiny PNGs made with sharp,
 * metrics JSON files, and a pipeline.yaml of `cmd:` stages that copy these
 * prepared fixtures into their outs, laid out like the built-in stages
 * (synth preview/stats, deglare images+glare, train curve.csv, evaluate
 * metrics.json + pred/). Values vary per stage so tests can check them.
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
/** Valve IoU per evaluation; the best is bright→bright. */
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
  'mkdir -p results/${train}-${test}/pred && cp fixtures/eval/${train}-${test}.json results/${train}-${test}/metrics.json && cp fixtures/pred/*.png results/${train}-${test}/pred/',
);

const pipelineYaml = (o: WorkspaceOptions) => `
stages:
  synth:
    cmd: ${q('mkdir -p data && rm -rf data/synth && cp -r fixtures/synth data/synth')}
    deps: [fixtures/synth]
    params: { width: ${W}, height: ${H}, images: ${STEMS.length} }
    outs: [data/synth]
    metrics: [data/synth/stats.json]
  convert:
    cmd: ${q('mkdir -p work && rm -rf work/stats && cp -r fixtures/stats work/stats')}
    deps: [data/synth]
    outs: [work/stats]
    metrics: [work/stats/classes.json, work/stats/quality.json]
  deglare:
    cmd: ${q('mkdir -p work/deglared && rm -rf work/deglared/dark && cp -r fixtures/deglared work/deglared/dark')}
    deps: [data/synth]
    params: { images: data/synth/dark/images, threshold: 100 }
    outs: [work/deglared/dark]
    metrics: [work/deglared/dark/glare.json]
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
  evaluate:
    matrix: { train: [bright, dark], test: [bright, dark] }
    cmd: ${evalCmd}
    deps: [models/\${train}, data/synth]
    params:
      images: data/synth/\${test}/images
      labels: data/synth/\${test}/labels
    metrics: [results/\${train}-\${test}/metrics.json]
    outs: [results/\${train}-\${test}/pred]
  evaluate-deglared:
    matrix: { train: [bright, dark], test: [dark-deglared] }
    cmd: ${evalCmd}
    deps: [models/\${train}, work/deglared/dark, data/synth]
    params:
      images: work/deglared/dark/images
      labels: data/synth/dark/labels
    metrics: [results/\${train}-\${test}/metrics.json]
    outs: [results/\${train}-\${test}/pred]
`;

function curveCsv(seed: number): string {
  const lines = ['step,loss,lr,imagesPerSec'];
  for (let s = 1; s <= 20; s++) lines.push(`${s},${(2 / (1 + s * 0.3) + seed * 0.05).toFixed(4)},${(0.001 * (1 - (s - 1) / 20) ** 0.9).toExponential(4)},3.1`);
  return lines.join('\n') + '\n';
}

function metricsJson(key: string): string {
  const miou = MIOU[key]!;
  const valve = VALVE[key]!;
  return JSON.stringify({ meanIoU: miou, pixelAccuracy: miou + 0.05, iou: { background: 0.95, valve, pipe: 3 * miou - 0.95 - valve }, classes: ['background', 'valve', 'pipe'], confusion: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] });
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
    // Predictions a little off the truth, in palette colours: some red in the error map.
    files.push([`fixtures/pred/${stem}.png`, png(paletteRgb(labels(i + 2)), 3)]);
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
  files.push(['fixtures/curve-bright.csv', curveCsv(0)]);
  files.push(['fixtures/curve-dark.csv', curveCsv(1)]);
  for (const key of Object.keys(MIOU)) files.push([`fixtures/eval/${key}.json`, metricsJson(key)]);
  for (const [rel, data] of files) await repo.write(rel, typeof data === 'string' ? data : await data);
  return repo;
}
