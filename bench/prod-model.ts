/**
 * The model the default pipeline trains, built by the project's own code
 * (stages/lib/tf/models) from the `train` stage's default parameters, so the
 * benchmarks follow whatever the default becomes. Only the crop and batch are
 * the benchmark's own.
 */
import * as tf from '@tensorflow/tfjs-core';
import { buildModel, type ModelConfig, type SegModel } from '../stages/lib/tf/models/index.ts';
import { Optimizer, type OptimizerConfig } from '../stages/lib/tf/optimizer.ts';
import { trainStep } from '../stages/lib/tf/train-step.ts';
import { freezeTrunk, modelConfig } from '../stages/train/model-config.ts';
import { trainParams, type TrainParams } from '../stages/train/params.ts';

/** The `train` stage's defaults (the paths are placeholders: nothing is read). */
export function defaultTrainParams(): TrainParams {
  return trainParams.parse({ images: '-', labels: '-', list: '-', out: '-' });
}

/** The model config the `train` stage builds from its parameters (the stage's own function). */
export function prodModelConfig(p: TrainParams = defaultTrainParams()): ModelConfig {
  // The default pipeline's labels name three classes (background, valve, pipe); a
  // stage without `classes` takes them from classes.json, which a benchmark lacks.
  return modelConfig(p, typeof p.classes === 'number' ? p.classes : (p.classes?.length ?? 3));
}

/** A production model, optimiser and one fixed batch; `step()` is one training step as the stage runs it. */
export interface ProdSetup {
  readonly model: SegModel;
  readonly config: ModelConfig;
  readonly params: TrainParams;
  readonly images: tf.Tensor4D;
  readonly labels: tf.Tensor3D;
  readonly optimizer: Optimizer;
  readonly optimizerConfig: OptimizerConfig;
  step(): number;
  infer(): void;
  dispose(): void;
}

/** Smooth synthetic images in [-1, 1] and labels from their colour (a few ignored pixels), seeded. */
function batch(n: number, size: number, classes: number): { images: tf.Tensor4D; labels: tf.Tensor3D } {
  const img = new Float32Array(n * size * size * 3);
  const lab = new Int32Array(n * size * size);
  let s = 7;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let b = 0; b < n; b++) {
    const fx = 1 + rand() * 4;
    const fy = 1 + rand() * 4;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = Math.sin(((fx * x) / size) * Math.PI) * Math.cos(((fy * y) / size) * Math.PI);
        const p = (b * size + y) * size + x;
        img[p * 3] = v;
        img[p * 3 + 1] = rand() * 0.4 - 0.2;
        img[p * 3 + 2] = x / size - 0.5;
        lab[p] = rand() < 0.02 ? 255 : Math.min(classes - 1, Math.floor(((v + 1) / 2) * classes));
      }
    }
  }
  return { images: tf.tensor4d(img, [n, size, size, 3]), labels: tf.tensor3d(lab, [n, size, size], 'int32') };
}

/** Builds the production model under the active backend. */
export function prodSetup(size: number, n: number, params: TrainParams = defaultTrainParams()): ProdSetup {
  const config = prodModelConfig(params);
  // A pretrained trunk's weights do not change a step's cost: seeded ones stand in for them.
  const model = buildModel(config, { seed: params.seed });
  if (params.freeze > 0) freezeTrunk(model, params.freeze);
  const optimizerConfig: OptimizerConfig = { kind: params.optimizer, momentum: params.momentum, weightDecay: params.weightDecay, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
  const optimizer = new Optimizer(optimizerConfig);
  const { images, labels } = batch(n, size, config.numClasses);
  return {
    model,
    config,
    params,
    images,
    labels,
    optimizer,
    optimizerConfig,
    step: () => trainStep(model, optimizer, images, labels, params.lr, params.classWeights),
    infer: () => {
      // Not returning the values: tidy would walk the typed array element by element.
      tf.tidy(() => {
        model.logits(images, false).dataSync();
      });
    },
    dispose: () => {
      model.dispose();
      optimizer.dispose();
      tf.dispose([images, labels]);
    },
  };
}

/** Trainable parameter count. */
export function paramCount(model: SegModel): number {
  let n = 0;
  for (const p of model.store.params.values()) n += p.variable.size;
  return n;
}
