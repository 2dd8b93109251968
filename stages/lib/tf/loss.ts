/**
 * Pixel-wise softmax cross-entropy, the study's loss: labels equal to the
 * ignore value (255), or outside 0..C-1, contribute nothing, and the mean is
 * taken over the (weighted) counted pixels only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropy } from '../tf-kernels/index.ts';

export const IGNORE_LABEL = 255;

/**
 * @param logits `[N, H, W, C]` float scores.
 * @param labels `[N, H, W]` int32 class indices; 255 = ignore.
 * @param classWeights optional weight per class (length C); each counted
 *   pixel's loss is scaled by the weight of its true class, and the mean
 *   divides by the sum of those weights (as a weighted average should).
 */
export function softmaxCrossEntropyIgnore(logits: tf.Tensor4D, labels: tf.Tensor3D, classWeights?: number[]): tf.Scalar {
  const C = logits.shape[3];
  if (classWeights && classWeights.length !== C) {
    throw new Error(`classWeights has ${classWeights.length} entries but the model predicts ${C} classes`);
  }
  // One kernel with its gradient where the backend has it (stages/lib/tf-kernels: wasm, cpu).
  return softmaxCrossEntropy(logits, labels, classWeights) ?? composedSoftmaxCrossEntropy(logits, labels, classWeights);
}

/** The same loss composed from tfjs ops (any backend; the fused kernel's reference in tests). */
export function composedSoftmaxCrossEntropy(logits: tf.Tensor4D, labels: tf.Tensor3D, classWeights?: number[]): tf.Scalar {
  const C = logits.shape[3];
  return tf.tidy(() => {
    const lab = tf.cast(labels, 'int32');
    const valid = tf.logicalAnd(tf.greaterEqual(lab, 0), tf.less(lab, C));
    // Ignored pixels get class 0 for the one-hot, then a zero weight.
    const safe = tf.where(valid, lab, tf.zerosLike(lab));
    const oneHot = tf.cast(tf.reshape(tf.oneHot(tf.reshape(safe, [-1]), C), logits.shape), 'float32');
    let w: tf.Tensor = tf.cast(valid, 'float32');
    if (classWeights) w = tf.mul(w, tf.gather(tf.tensor1d(classWeights), safe));
    const logp = tf.logSoftmax(logits);
    const perPixel = tf.neg(tf.sum(tf.mul(oneHot, logp), -1));
    const total = tf.sum(tf.mul(perPixel, w));
    // max(.., tiny) keeps an all-ignore batch at loss 0 instead of NaN.
    return tf.div(total, tf.maximum(tf.sum(w), 1e-12)) as tf.Scalar;
  });
}
