/**
 * One optimisation step: forward in training mode, loss, gradients of all
 * trainable variables, optimiser update, then batch-norm moving averages.
 * Everything it allocates is released before it returns (tested: the
 * tensor count stays constant across steps).
 */
import * as tf from '@tensorflow/tfjs-core';
import { segmentationLoss, type LossKind } from './loss.ts';
import type { StateUpdate } from './models/layers.ts';
import type { SegModel } from './models/index.ts';
import type { Optimizer } from './optimizer.ts';

/** Returns the batch's loss before the update. */
export function trainStep(model: SegModel, opt: Optimizer, images: tf.Tensor4D, labels: tf.Tensor3D, lr: number, classWeights?: number[], loss: LossKind = 'crossentropy'): number {
  const updates: StateUpdate[] = [];
  const vars = [...model.store.params.values()].filter((p) => p.trainable).map((p) => p.variable);
  const { value, grads } = tf.variableGrads(() => segmentationLoss(loss, model.logits(images, true, updates), labels, classWeights), vars);
  try {
    opt.apply(model.store.params, grads, lr);
    for (const u of updates) u.variable.assign(u.value);
    if (updates.length) model.store.normUpdates++;
    return value.dataSync()[0]!;
  } finally {
    value.dispose();
    tf.dispose(Object.values(grads));
    tf.dispose(updates.map((u) => u.value));
  }
}
