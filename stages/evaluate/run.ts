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
import { decodeLabel, decodeRGB, resolveSamples, toInput } from '../lib/tf/data.ts';
import { loadModel } from '../lib/tf/io-handler.ts';
import { accumulate, confusionRows, emptyConfusion, scores } from '../lib/tf/metrics.ts';
import type { EvaluateParams } from './params.ts';
import { paletteFor, writeOverlay, writePrediction } from './render.ts';

/** Indices of `k` images spread evenly over `n`. */
export function sampleIndices(n: number, k: number): Set<number> {
  const m = Math.min(n, k);
  return new Set(Array.from({ length: m }, (_, i) => Math.floor((i * n) / m)));
}

export async function runEvaluation(ctx: StageContext<EvaluateParams>): Promise<void> {
  const p = ctx.params;
  const samples = await resolveSamples(ctx.path(p.list), ctx.path(p.images), ctx.path(p.labels));
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
    if (p.classes.length !== C) {
      throw new FailureError(
        failure('bad-params', `classes names ${p.classes.length} classes but the model in ${p.model} predicts ${C}`, { stage: ctx.stage }),
      );
    }
    const palette = paletteFor(C, p.palette);
    const out = ctx.path(p.out);
    await mkdir(path.join(out, 'pred'), { recursive: true });
    if (p.samples > 0) await mkdir(path.join(out, 'overlays'), { recursive: true });
    const overlays = sampleIndices(samples.length, p.samples);
    const cm = emptyConfusion(C);
    for (const [i, s] of samples.entries()) {
      if (ctx.signal.aborted) throw new FailureError(failure('killed', `evaluation stopped after ${i} images`, { stage: ctx.stage }));
      const [image, label] = await Promise.all([decodeRGB(s.image), decodeLabel(s.label, p.palette)]);
      if (image.width !== label.width || image.height !== label.height) {
        throw new FailureError(failure('io', `${s.label} is ${label.width}x${label.height} but ${s.image} is ${image.width}x${image.height}`, { stage: ctx.stage, file: s.label }));
      }
      const pred = tf.tidy(() => model.classify(tf.tensor4d(toInput(image), [1, image.height, image.width, 3])));
      const classes = (await pred.data()) as Int32Array;
      pred.dispose();
      accumulate(cm, label.data, classes);
      await writePrediction(path.join(out, 'pred', `${s.stem}.png`), classes, image.width, image.height, palette);
      if (overlays.has(i)) await writeOverlay(path.join(out, 'overlays', `${s.stem}.png`), image, label, classes, palette);
      ctx.progress({ step: i + 1, total: samples.length, message: s.stem });
      // Let an abort reach us between images.
      await new Promise((r) => setImmediate(r));
    }
    const sc = scores(cm);
    const byName = <T>(v: T[]): Record<string, T> => Object.fromEntries(p.classes.map((n, c) => [n, v[c]!]));
    const metrics = {
      meanIoU: sc.meanIoU,
      pixelAccuracy: sc.pixelAccuracy,
      frequencyWeightedIoU: sc.frequencyWeightedIoU,
      iou: byName(sc.iou),
      classAccuracy: byName(sc.classAccuracy),
      classes: p.classes,
      confusion: confusionRows(cm),
      pixels: sc.pixels,
      images: samples.length,
      backend: backend.value.name,
    };
    await writeFileAtomic(path.join(out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
    ctx.log(`mean IoU ${(100 * sc.meanIoU).toFixed(1)}% over ${samples.length} images`);
  } finally {
    model.dispose();
  }
}
