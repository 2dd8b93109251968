/**
 * The `evaluate` stage's work: predict each image of the split at full
 * size, accumulate one confusion matrix (label 255 ignored), write
 * metrics.json, prediction PNGs and a few overlays.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic, FailureError, failure, type StageContext } from '../../src/stage-api.ts';
import { selectBackend } from '../lib/tf/backend.ts';
import { extendPalette } from '../lib/image/palette.ts';
import { decodeLabel, decodeRGB, pairSamples, sizeMismatch, toInput } from '../lib/tf/data.ts';
import { addCounts, checkLabelSet, checkModelClasses, emptyCounts, labelSpec, repoName, type ModelClasses } from '../lib/tf/labels.ts';
import { loadModel } from '../lib/tf/io-handler.ts';
import { crfClasses, crfParamsSchema } from '../lib/tf/crf.ts';
import { accumulate, confusionRows, emptyConfusion, scores } from '../lib/tf/metrics.ts';
import type { EvaluateParams } from './params.ts';
import { writeErrorMap, writeOverlay, writePrediction } from './render.ts';

/** Indices of `k` images spread evenly over `n`. */
export function sampleIndices(n: number, k: number): Set<number> {
  const m = Math.min(n, k);
  return new Set(Array.from({ length: m }, (_, i) => Math.floor((i * n) / m)));
}

export async function runEvaluation(ctx: StageContext<EvaluateParams>): Promise<void> {
  const p = ctx.params;
  const backend = await selectBackend(p.backend, { training: false, threads: ctx.threads, log: (l) => ctx.log(l) });
  if (!backend.ok) throw new FailureError({ ...backend.error, stage: ctx.stage });

  let loaded;
  try {
    loaded = await loadModel(ctx.path(p.model));
  } catch (e) {
    throw new FailureError(failure('missing-dep', (e as Error).message, { stage: ctx.stage, file: p.model }));
  }
  tf.dispose(Object.values(loaded.extraTensors));
  const model = loaded.model;
  try {
    const C = model.config.numClasses;
    // One class list: the labels folder's (or the params'), and the model's must be the same.
    const modelClasses: ModelClasses = { numClasses: C, name: p.model, ...(loaded.topology.classes ? { classes: loaded.topology.classes } : {}) };
    const spec = await labelSpec({ labelsAbs: ctx.path(p.labels), labelsName: p.labels, classes: p.classes, palette: p.palette, model: modelClasses });
    checkModelClasses(spec, modelClasses);
    const names = spec.classes.names;
    const { samples, warnings } = await pairSamples({
      images: { abs: ctx.path(p.images), name: p.images },
      labels: { abs: ctx.path(p.labels), name: p.labels },
      ...(p.list ? { list: { abs: ctx.path(p.list), name: p.list } } : {}),
    });
    const palette = extendPalette(C, spec.classes.colors);
    const repo = repoName(ctx);
    const counts = emptyCounts(C);
    const out = ctx.path(p.out);
    await mkdir(path.join(out, 'pred'), { recursive: true });
    // The sampled images also get their ground truth in colour and an error map, shown in the report.
    if (p.samples > 0) for (const d of ['overlays', 'truth', 'errors']) await mkdir(path.join(out, d), { recursive: true });
    const wrongShare: Record<string, string> = {};
    const overlays = sampleIndices(samples.length, p.samples);
    const cm = emptyConfusion(C);
    const crf = p.crf === true ? crfParamsSchema.parse({}) : p.crf === false ? null : p.crf;
    for (const [i, s] of samples.entries()) {
      if (ctx.signal.aborted) throw new FailureError(failure('killed', `evaluation stopped after ${i} images`, { stage: ctx.stage }));
      const [image, label] = await Promise.all([decodeRGB(s.image), decodeLabel(s.label, spec, repo(s.label))]);
      if (image.width !== label.width || image.height !== label.height) throw sizeMismatch(s, image, label, repo);
      addCounts(counts, label);
      // Each image at its own size: no resizing, so the scores are over the labels as drawn.
      const x = () => tf.tensor4d(toInput(image), [1, image.height, image.width, 3]);
      let classes: Int32Array;
      if (crf) {
        const z = tf.tidy(() => model.scores(x(), { flip: p.flip }));
        const logits = (await z.data()) as Float32Array;
        z.dispose();
        classes = crfClasses(logits, image.data, image.width, image.height, C, crf);
      } else {
        const pred = tf.tidy(() => model.classify(x(), { flip: p.flip }));
        classes = (await pred.data()) as Int32Array;
        pred.dispose();
      }
      accumulate(cm, label.data, classes);
      const predFile = path.join(out, 'pred', `${s.stem}.png`);
      if (s.stem.includes('/')) await mkdir(path.dirname(predFile), { recursive: true });
      await writePrediction(predFile, classes, image.width, image.height, palette);
      if (overlays.has(i)) {
        const [overlayFile, truthFile, errorsFile] = ['overlays', 'truth', 'errors'].map((d) => path.join(out, d, `${s.stem}.png`));
        if (s.stem.includes('/')) for (const f of [overlayFile!, truthFile!, errorsFile!]) await mkdir(path.dirname(f), { recursive: true });
        await writeOverlay(overlayFile!, image, label, classes, palette);
        await writePrediction(truthFile!, label.data, label.width, label.height, palette);
        const wrong = await writeErrorMap(errorsFile!, label, classes, palette);
        wrongShare[s.stem] = `${(100 * wrong).toFixed(1)}% wrong`;
      }
      ctx.progress({ step: i + 1, total: samples.length, message: s.stem });
      // Let an abort reach us between images.
      await new Promise((r) => setImmediate(r));
    }
    warnings.push(...checkLabelSet(counts, spec, `the labels of ${p.list ?? p.labels}`, 'scoring'));
    for (const w of warnings) ctx.log(`warning: ${w}`);
    const sc = scores(cm);
    const byName = <T>(v: T[]): Record<string, T> => Object.fromEntries(names.map((n, c) => [n, v[c]!]));
    const metrics = {
      meanIoU: sc.meanIoU,
      pixelAccuracy: sc.pixelAccuracy,
      frequencyWeightedIoU: sc.frequencyWeightedIoU,
      iou: byName(sc.iou),
      classAccuracy: byName(sc.classAccuracy),
      classes: names,
      confusion: confusionRows(cm),
      pixels: sc.pixels,
      images: samples.length,
      backend: backend.value.name,
      // Scores with mirrored test images added are not comparable with single-pass ones: say which.
      testTimeFlip: p.flip,
      // Likewise with and without the CRF: its settings, or null.
      crf,
      ...(warnings.length ? { warnings } : {}),
    };
    await writeFileAtomic(path.join(out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
    if (p.samples > 0) await writeFileAtomic(path.join(out, 'samples.json'), JSON.stringify(wrongShare, null, 2) + '\n');
    ctx.log(`mean IoU ${(100 * sc.meanIoU).toFixed(1)}% over ${samples.length} images`);
  } finally {
    model.dispose();
  }
}
