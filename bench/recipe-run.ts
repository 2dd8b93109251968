/**
 * One recipe trial: runs the train stage on a rendered data set and evaluates the model, printing one
 * RESULT line (mIoU, IoU per class, seconds, s/step). ROOT is a folder where `pipe run synth labels`
 * (and deglare for dark-deglared) already ran. Two trials side by side = one core each.
 * usage: node --import tsx bench/recipe-run.ts ROOT NAME '{"steps":300,"freeze":3,...,"set":"bright"}' [test sets...]
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import train from '../stages/train/index.ts';
import evaluate from '../stages/evaluate/index.ts';
import { trainParams } from '../stages/train/params.ts';
import { evaluateParams } from '../stages/evaluate/params.ts';

const [root, name, json, ...tests] = process.argv.slice(2);
const over = JSON.parse(json!);
const set = over.set ?? 'bright';
const evalOnly = over.evalOnly === true; // evaluate an earlier trial's model again
const flip = over.flip === true; // evaluate with mirrored test images too
const crf = over.crf ?? false; // evaluate with the CRF (true, or its settings)
delete over.crf;
const samples = typeof over.samples === 'number' ? over.samples : 0; // overlays to look at
delete over.samples;
delete over.set;
delete over.evalOnly;
delete over.flip;
const p = trainParams.parse({ images: `data/synth/${set}/images`, labels: `work/labels/${set}`, list: `data/synth/${set}/train.txt`, out: `xmodels/${name}`, backend: 'wasm', progressEvery: 25, checkpointEvery: 100000, ...over });
const ctl = new AbortController();
const mk = (params: unknown) => ({
  stage: name!, params, root: root!, path: (r: string) => path.join(root!, r), workDir: path.join(root!, '.xwork', name!),
  progress: (e: { step: number; total?: number; values?: Record<string, number> }) => console.log(`${name} step ${e.step} loss ${e.values?.['loss']?.toFixed(4)} img/s ${e.values?.['imagesPerSec']?.toFixed(2)}`),
  log: (l: string) => console.log(`${name} ${l}`), signal: ctl.signal, gpus: [], threads: 1,
});
const t0 = performance.now();
if (train.kind !== 'whole' || evaluate.kind !== 'whole') throw new Error('whole');
if (!evalOnly) await train.run(mk(p) as never);
const tt = (performance.now() - t0) / 1000;
for (const spec of tests.length ? tests : ['bright']) {
  // `set:list` evaluates on another split, e.g. `bright:train` to see how well the model fits its own data.
  const [t, split = 'test'] = spec.split(':') as [string, string?];
  const ep = evaluateParams.parse({ model: `xmodels/${name}`, images: t === 'dark-deglared' ? 'work/deglared/dark/images' : `data/synth/${t}/images`, labels: `work/labels/${t === 'dark-deglared' ? 'dark' : t}`, list: `data/synth/${t === 'dark-deglared' ? 'dark' : t}/${split}.txt`, out: `xresults/${name}-${t}-${split}`, backend: 'wasm', samples, flip, crf });
  const t1 = performance.now();
  await evaluate.run(mk(ep) as never);
  const m = JSON.parse(await readFile(path.join(root!, `xresults/${name}-${t}-${split}/metrics.json`), 'utf8'));
  console.log(`RESULT ${name} ${JSON.stringify(over)}${flip ? ' flip' : ''}${crf ? ` crf=${JSON.stringify(crf)}` : ''} test=${spec} mIoU=${(m.meanIoU * 100).toFixed(1)} iou=${JSON.stringify(Object.fromEntries(Object.entries(m.iou).map(([k, v]) => [k, +(100 * (v as number)).toFixed(1)])))} trainS=${tt.toFixed(0)} s/step=${(tt / p.steps).toFixed(3)} evalS=${((performance.now() - t1) / 1000).toFixed(0)} images=${m.images}`);
}
