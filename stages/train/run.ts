/**
 * The training loop of the `train` stage: data, backend, model (fresh,
 * from `init`, or resumed from a checkpoint), steps with progress and
 * checkpoints, then the saved model, its training curve and metrics.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic, FailureError, failure, type StageContext } from '../../src/stage-api.ts';
import { selectBackend } from '../lib/tf/backend.ts';
import { loadCheckpoint, saveCheckpoint, type CurvePoint, type TrainState } from '../lib/tf/checkpoint.ts';
import { describeClasses } from '../lib/image/class-list.ts';
import { augmentedCrop, batchIndices, loadSamples, pairSamples, stepRng, type LoadedSample } from '../lib/tf/data.ts';
import { checkLabelSet, labelSpec, repoName, type LabelCounts, type LabelSpec } from '../lib/tf/labels.ts';
import { loadModel, saveModel } from '../lib/tf/io-handler.ts';
import { buildModel, type ModelConfig, type SegModel } from '../lib/tf/models/index.ts';
import { bundledImagenet, folderKeras, foldTrunk, type FoldedTrunk } from '../lib/tf/pretrained/keras-mobilenetv2.ts';
import { Optimizer, type OptimizerConfig } from '../lib/tf/optimizer.ts';
import { polyLearningRate } from '../lib/tf/schedule.ts';
import { trainStep } from '../lib/tf/train-step.ts';
import { freezeTrunk, modelConfig } from './model-config.ts';
import { isBackboneFolder, type TrainParams } from './params.ts';

/** Settings that change what training computes (not how often it reports): the checkpoint key. */
function trainingKey(p: TrainParams): string {
  const { progressEvery: _a, checkpointEvery: _b, backend: _c, out: _d, ...rest } = p;
  return JSON.stringify(Object.keys(rest).sort().map((k) => [k, rest[k as keyof typeof rest]]));
}

/** A fresh model: pretrained trunk (folded batch norm) + seeded head, or all from the seed. */
async function freshModel(ctx: StageContext<TrainParams>, numClasses: number): Promise<SegModel> {
  const p = ctx.params;
  if (p.model !== 'deeplabv3plus' || p.backbone === 'scratch') return buildModel(modelConfig(p, numClasses), { seed: p.seed });
  let folded: FoldedTrunk;
  try {
    const keras = p.backbone === 'imagenet' ? await bundledImagenet() : await folderKeras(ctx.path(p.backbone));
    folded = foldTrunk(keras);
    ctx.log(`trunk weights from ${keras.source} (MobileNetV2 width ${folded.width}, batch norm folded)`);
  } catch (e) {
    throw new FailureError(
      failure('missing-dep', `backbone ${p.backbone}: ${(e as Error).message}`, {
        stage: ctx.stage,
        ...(isBackboneFolder(p.backbone) ? { file: p.backbone } : {}),
        hint: 'backbone is imagenet, scratch, or a folder with a Keras MobileNetV2 in tfjs layers format (model.json + shards)',
      }),
    );
  }
  try {
    if (p.width !== undefined && p.width !== folded.width) {
      throw bad(ctx, `width ${p.width} does not fit the pretrained trunk, whose width is ${folded.width}`, 'leave width out (it follows the trunk), or set backbone: scratch');
    }
    return buildModel(modelConfig(p, numClasses, folded.width), { seed: p.seed, pretrained: folded.weights });
  } finally {
    tf.dispose(Object.values(folded.weights));
  }
}

function optimizerConfig(p: TrainParams): OptimizerConfig {
  return { kind: p.optimizer, momentum: p.momentum, weightDecay: p.weightDecay, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
}

function bad(ctx: StageContext<TrainParams>, message: string, hint?: string): FailureError {
  return new FailureError(failure('bad-params', message, { stage: ctx.stage, ...(hint ? { hint } : {}) }));
}

async function startingState(ctx: StageContext<TrainParams>, key: string, numClasses: number): Promise<TrainState> {
  const p = ctx.params;
  const config = modelConfig(p, numClasses);
  const resumed = await loadCheckpoint(path.join(ctx.workDir, 'checkpoints'), key, optimizerConfig(p)).catch((e: Error) => {
    ctx.log(`ignoring unreadable checkpoint: ${e.message}`);
    return undefined;
  });
  if (resumed) {
    ctx.log(`resuming from the checkpoint at step ${resumed.step}`);
    return resumed;
  }
  if (p.init) {
    let loaded;
    try {
      loaded = await loadModel(ctx.path(p.init));
    } catch (e) {
      throw new FailureError(failure('missing-dep', (e as Error).message, { stage: ctx.stage, file: p.init }));
    }
    tf.dispose(Object.values(loaded.extraTensors));
    // Width left out follows the init model; models saved before `trunk` existed have a normed trunk.
    if (p.width === undefined) config.width = loaded.topology.config.width;
    const saved: ModelConfig = { ...loaded.topology.config, ...(loaded.topology.config.arch === 'deeplabv3plus' ? { trunk: loaded.topology.config.trunk ?? 'norm' } : {}) };
    const diff = (Object.keys(config) as (keyof ModelConfig)[]).filter((k) => saved[k] !== config[k]);
    if (diff.length) {
      loaded.model.dispose();
      throw bad(
        ctx,
        `init model ${p.init} differs from the requested model in ${diff.map((k) => `${k} (${String(saved[k])} vs ${String(config[k])})`).join(', ')}`,
        'set the model params of this stage to those of the init model',
      );
    }
    ctx.log(`starting from the weights in ${p.init}`);
    return { model: loaded.model, optimizer: new Optimizer(optimizerConfig(p)), step: 0, curve: [] };
  }
  return { model: await freshModel(ctx, numClasses), optimizer: new Optimizer(optimizerConfig(p)), step: 0, curve: [] };
}

function makeBatch(p: TrainParams, data: LoadedSample[], step: number): { x: tf.Tensor4D; y: tf.Tensor3D } {
  const C = p.crop;
  const images = new Float32Array(p.batch * C * C * 3);
  const labels = new Int32Array(p.batch * C * C);
  const rng = stepRng(p.seed, step);
  batchIndices(p.seed, step, p.batch, data.length).forEach((idx, j) => {
    const { image, label } = augmentedCrop(data[idx]!, { crop: C, scaleMin: p.scaleMin, scaleMax: p.scaleMax, mirror: p.mirror }, rng);
    images.set(image, j * C * C * 3);
    labels.set(label, j * C * C);
  });
  return { x: tf.tensor4d(images, [p.batch, C, C, 3]), y: tf.tensor3d(labels, [p.batch, C, C], 'int32') };
}

function curveCsv(curve: CurvePoint[]): string {
  return ['step,loss,lr,imagesPerSec', ...curve.map((c) => `${c.step},${c.loss},${c.lr},${c.imagesPerSec.toFixed(3)}`)].join('\n') + '\n';
}

/**
 * The training set: images paired with labels, the class list (classes.json,
 * checked against the params), every label validated, pixel counts per class.
 * Warnings (unpaired files, classes without pixels) are logged and returned.
 */
async function trainingData(ctx: StageContext<TrainParams>): Promise<{ spec: LabelSpec; data: LoadedSample[]; counts: LabelCounts; warnings: string[] }> {
  const p = ctx.params;
  // Failures here name files and params; the run boundary adds the stage.
  const spec = await labelSpec({ labelsAbs: ctx.path(p.labels), labelsName: p.labels, classes: p.classes, palette: p.palette });
  const paired = await pairSamples({
    images: { abs: ctx.path(p.images), name: p.images },
    labels: { abs: ctx.path(p.labels), name: p.labels },
    ...(p.list ? { list: { abs: ctx.path(p.list), name: p.list } } : {}),
  });
  const { samples: data, counts } = await loadSamples(paired.samples, spec, repoName(ctx));
  const warnings = [...paired.warnings, ...checkLabelSet(counts, spec, `the training set (${p.list ?? p.labels})`, 'training')];
  ctx.log(`${data.length} training images from ${p.list ?? p.images}, ${describeClasses(spec.classes.names)} from ${spec.source}`);
  for (const w of warnings) ctx.log(`warning: ${w}`);
  return { spec, data, counts, warnings };
}


/** Runs the stage (see index.ts). Failures are thrown as FailureError. */
export async function runTraining(ctx: StageContext<TrainParams>): Promise<void> {
  const p = ctx.params;
  const started = performance.now();
  if (p.scaleMin > p.scaleMax) throw bad(ctx, `scaleMin (${p.scaleMin}) is larger than scaleMax (${p.scaleMax})`);
  const { spec, data, counts, warnings } = await trainingData(ctx);
  const C = spec.classes.names.length;
  if (p.classWeights && p.classWeights.length !== C) {
    throw bad(ctx, `classWeights has ${p.classWeights.length} entries but there are ${describeClasses(spec.classes.names)} (from ${spec.source})`);
  }

  const backend = await selectBackend(p.backend, { training: true, threads: ctx.threads, log: (l) => ctx.log(l) });
  if (!backend.ok) throw new FailureError({ ...backend.error, stage: ctx.stage });

  const key = trainingKey(p);
  const ckptDir = path.join(ctx.workDir, 'checkpoints');
  const state = await startingState(ctx, key, C);
  const resumedFrom = state.step;
  if (p.freeze > 0) {
    if (state.model.config.trunk !== 'folded') {
      state.model.dispose();
      throw bad(ctx, `freeze: ${p.freeze} needs a pretrained trunk, but this model's trunk ${p.backbone === 'scratch' ? 'is trained from scratch' : 'is not one'}`, 'set freeze: 0');
    }
    ctx.log(`frozen: the stem and blocks 0-${p.freeze - 1} (${freezeTrunk(state.model, p.freeze)} tensors)`);
  }
  try {
    for (let step = state.step; step < p.steps; step++) {
      const { x, y } = makeBatch(p, data, step);
      const lr = polyLearningRate(p.lr, step, p.steps, p.power);
      const t0 = performance.now();
      let loss: number;
      try {
        loss = trainStep(state.model, state.optimizer, x, y, lr, p.classWeights, p.loss);
      } finally {
        tf.dispose([x, y]);
      }
      const done = step + 1;
      const imagesPerSec = p.batch / Math.max((performance.now() - t0) / 1000, 1e-9);
      if (!Number.isFinite(loss)) {
        throw new FailureError(
          failure('stage-error', `training diverged: the loss is ${loss} at step ${done}`, { stage: ctx.stage, hint: 'lower lr, or check the labels' }),
        );
      }
      state.step = done;
      state.curve.push({ step: done, loss, lr, imagesPerSec });
      if (done % p.progressEvery === 0 || done === p.steps) ctx.progress({ step: done, total: p.steps, values: { loss, lr, imagesPerSec } });
      if (done % p.checkpointEvery === 0 && done < p.steps) await saveCheckpoint(ckptDir, key, state);
      // Let an abort (Ctrl-C, the runner giving up) reach us between steps.
      await new Promise((r) => setImmediate(r));
      if (ctx.signal.aborted && done < p.steps) {
        const at = Math.floor(done / p.checkpointEvery) * p.checkpointEvery;
        throw new FailureError(
          failure('killed', `training stopped after step ${done} of ${p.steps}`, {
            stage: ctx.stage,
            hint: at > 0 ? `run again to resume from the checkpoint at step ${at}` : 'run again to start over',
          }),
        );
      }
    }

    const out = ctx.path(p.out);
    await saveModel(state.model, out, { classes: spec.classes, json: { training: JSON.parse(JSON.stringify(p)) as Record<string, unknown> } });
    await writeFileAtomic(path.join(out, 'curve.csv'), curveCsv(state.curve));
    const tail = state.curve.slice(-10);
    const metrics = {
      finalLoss: tail.reduce((a, c) => a + c.loss, 0) / Math.max(1, tail.length),
      lastLoss: state.curve.at(-1)?.loss ?? null,
      steps: p.steps,
      resumedFrom,
      images: data.length,
      classes: spec.classes.names,
      // Label pixels per class over the training set (before augmentation), and ignored pixels.
      pixels: Object.fromEntries(spec.classes.names.map((n, i) => [n, counts.pixels[i]!])),
      ignoredPixels: counts.ignored,
      warnings,
      backend: backend.value.name,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
    await writeFileAtomic(path.join(out, 'train.json'), JSON.stringify(metrics, null, 2) + '\n');
    // Done: a later run with the same key must start over, not resume.
    await rm(ckptDir, { recursive: true, force: true });
  } finally {
    state.model.dispose();
    state.optimizer.dispose();
  }
}
