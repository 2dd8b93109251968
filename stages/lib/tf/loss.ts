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

/**
 * Lovász-softmax loss (Berman et al., CVPR 2018), per batch, over classes present in the batch: the
 * convex surrogate of 1 - IoU for each class, from the pixel errors |y - p| sorted in decreasing order.
 * A sort has no gradient in tfjs, and composed from tfjs ops (softmax, errors, TopK, gathers, cumulative
 * sums per class) it cost about as much as the rest of a 96x96 training step on the wasm backend; so it
 * is one pass in JavaScript over the logits read back once (`lovaszFromLogits`), with its gradient put
 * in place by a custom gradient. The read-back is portable: every backend can hand over its data.
 */
export function lovaszSoftmaxLoss(logits: tf.Tensor4D, labels: tf.Tensor3D): tf.Scalar {
  const C = logits.shape[3];
  const lab = tf.tidy(() => tf.cast(labels, 'int32'));
  const labData = lab.dataSync() as Int32Array;
  lab.dispose();
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const z = args[0] as tf.Tensor;
    const { value, grad } = lovaszFromLogits(z.dataSync() as Float32Array, labData, C);
    // The gradient, kept past the forward's scope by `save`.
    (args[1] as tf.GradSaveFunc)([tf.tensor(grad, z.shape)]);
    return { value: tf.scalar(value), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
  });
  return f(logits) as tf.Scalar;
}

/**
 * The Lovász-softmax loss of logits `[P, C]` (row-major) against labels `[P]` (outside 0..C-1 =
 * ignored), and its gradient with respect to the logits: softmax, errors, the Lovász weights of the
 * errors (`lovaszWeights`), then back through |y - p| and the softmax.
 */
export function lovaszFromLogits(z: Float32Array, labels: Int32Array, C: number): { value: number; grad: Float32Array } {
  const P = labels.length;
  const p = new Float32Array(P * C);
  const errors = new Float32Array(P * C);
  const truth = new Float32Array(P * C);
  for (let i = 0; i < P; i++) {
    const o = i * C;
    const l = labels[i]!;
    if (!(l >= 0 && l < C)) {
      errors.fill(-1, o, o + C);
      continue;
    }
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, z[o + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += p[o + c] = Math.exp(z[o + c]! - max);
    truth[o + l] = 1;
    for (let c = 0; c < C; c++) {
      p[o + c] = p[o + c]! / sum;
      errors[o + c] = Math.abs(truth[o + c]! - p[o + c]!);
    }
  }
  const { value, grad: dE } = lovaszWeights(errors, truth, C);
  const grad = new Float32Array(P * C);
  for (let i = 0; i < P; i++) {
    const o = i * C;
    if (errors[o]! < 0) continue;
    // dL/dp_c = dL/de_c * sign(p_c - y_c); dL/dz_j = p_j (dL/dp_j - sum_c p_c dL/dp_c).
    let dot = 0;
    for (let c = 0; c < C; c++) {
      const dp = dE[o + c]! * (truth[o + c]! > 0 ? -1 : 1);
      dE[o + c] = dp;
      dot += p[o + c]! * dp;
    }
    for (let c = 0; c < C; c++) grad[o + c] = p[o + c]! * (dE[o + c]! - dot);
  }
  return { value, grad };
}

/**
 * The Lovász-softmax loss of errors `[P, C]` (row-major; negative = ignored pixel) against one-hot
 * truth `[P, C]`, and its gradient with respect to the errors: for each class present in the truth,
 * the pixels sorted by decreasing error get the increments of the Jaccard loss along that order as
 * weights; the loss is the mean over present classes of sum(error x weight).
 */
export function lovaszWeights(errors: Float32Array, truth: Float32Array, C: number): { value: number; grad: Float32Array } {
  const P = errors.length / C;
  const grad = new Float32Array(errors.length);
  // A non-negative float32's bit pattern orders like the float: sort the pixels by those bits.
  const errorBits = new Uint32Array(errors.buffer, errors.byteOffset, errors.length);
  const keys = new Uint32Array(P);
  const pixels = new Uint32Array(P);
  const sorter = new RadixSorter(P);
  let total = 0;
  let present = 0;
  for (let c = 0; c < C; c++) {
    let m = 0;
    let positives = 0;
    for (let i = 0; i < P; i++) {
      const e = errors[i * C + c]!;
      if (!(e >= 0)) continue;
      positives += truth[i * C + c]!;
      keys[m] = errorBits[i * C + c]!;
      pixels[m++] = i;
    }
    if (positives === 0) continue;
    present++;
    const order = sorter.sort(keys, pixels, m);
    let cumPos = 0;
    let cumNeg = 0;
    let prev = 0;
    // Largest error first: walk the ascending order backwards.
    for (let k = m - 1; k >= 0; k--) {
      const at = order[k]! * C + c;
      const y = truth[at]!;
      cumPos += y;
      cumNeg += 1 - y;
      const jac = 1 - (positives - cumPos) / (positives + cumNeg);
      const g = jac - prev;
      prev = jac;
      grad[at] = g;
      total += errors[at]! * g;
    }
  }
  if (present > 0) {
    const scale = 1 / present;
    for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * scale;
  }
  return { value: present > 0 ? total / present : 0, grad };
}

/**
 * Least-significant-digit radix sort of uint32 keys, carrying a payload: three stable passes of 11
 * bits, so equal keys keep their input order. Linear in the count; a comparison sort of the 37k pixels
 * of a 96x96 batch of 4, three times a step, cost more than the rest of the loss.
 */
class RadixSorter {
  private readonly keysB: Uint32Array;
  private readonly valsB: Uint32Array;
  private readonly keysA: Uint32Array;
  private readonly valsA: Uint32Array;
  private readonly counts = new Uint32Array(2048);

  constructor(n: number) {
    this.keysA = new Uint32Array(n);
    this.valsA = new Uint32Array(n);
    this.keysB = new Uint32Array(n);
    this.valsB = new Uint32Array(n);
  }

  /** The first `n` payloads in ascending order of their keys (a view valid until the next call). */
  sort(keys: Uint32Array, vals: Uint32Array, n: number): Uint32Array {
    let srcK = keys;
    let srcV = vals;
    let dstK = this.keysA;
    let dstV = this.valsA;
    for (let shift = 0; shift < 33; shift += 11) {
      const counts = this.counts;
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[(srcK[i]! >>> shift) & 2047]!++;
      let sum = 0;
      for (let b = 0; b < 2048; b++) {
        const t = counts[b]!;
        counts[b] = sum;
        sum += t;
      }
      for (let i = 0; i < n; i++) {
        const k = srcK[i]!;
        const at = counts[(k >>> shift) & 2047]!++;
        dstK[at] = k;
        dstV[at] = srcV[i]!;
      }
      srcK = dstK;
      srcV = dstV;
      [dstK, dstV] = dstK === this.keysA ? [this.keysB, this.valsB] : [this.keysA, this.valsA];
    }
    return srcV.subarray(0, n);
  }
}

export type LossKind = 'crossentropy' | 'crossentropy+lovasz';

/** The training loss by name: cross-entropy alone, or plus the Lovász-softmax IoU surrogate (equal weights). */
export function segmentationLoss(kind: LossKind, logits: tf.Tensor4D, labels: tf.Tensor3D, classWeights?: number[]): tf.Scalar {
  return tf.tidy(() => {
    const ce = softmaxCrossEntropyIgnore(logits, labels, classWeights);
    switch (kind) {
      case 'crossentropy':
        return ce;
      case 'crossentropy+lovasz':
        return tf.add(ce, lovaszSoftmaxLoss(logits, labels)) as tf.Scalar;
    }
  });
}
