import * as tf from '@tensorflow/tfjs-core';
import { storeOf, type KernelArgs } from './stores.ts';

/**
 * Pixel-wise softmax cross-entropy with ignored labels, and its gradient, as
 * one kernel ('PipeSoftmaxCE'): one pass over the logits gives the loss and
 * d loss / d logits = w / W * (softmax - onehot). Composed from tfjs ops
 * (stages/lib/tf/loss.ts) the loss took ~15 kernels forward and as many
 * backward over [N, H, W, C] tensors, among them a ones tensor made in
 * JavaScript for each Sum's gradient, two Casts and the Exp: about 5% of a
 * training step of the production model at 256x256.
 *
 * Same definition as loss.ts: a label outside 0..C-1 (255: ignore) weighs 0,
 * a counted pixel weighs its class's weight (1 without weights), the loss is
 * the weighted mean over counted pixels (0 when none count). Sums in float64,
 * in pixel order: deterministic.
 */

export const SOFTMAX_CE = 'PipeSoftmaxCE';

export interface SoftmaxCEAttrs {
  /** One weight per class, or null for all ones. */
  classWeights: number[] | null;
}

/** 2^-i for i = 0..127. */
const POW2_NEG = Float64Array.from({ length: 128 }, (_, i) => 2 ** -i);

/**
 * e^x for x <= 0 (softmax's shifted logits), within 1e-8 relative of
 * Math.exp and ~3x faster than it here (Math.exp was most of this kernel):
 * x = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor series to r^7, times 2^n.
 * Below -87.3 (float32's smallest normal) 0. Plain arithmetic: deterministic.
 */
export function expNonPositive(x: number): number {
  if (x < -87.33654) return 0;
  const n = Math.round(x * Math.LOG2E);
  const r = x - n * Math.LN2;
  const p = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040)))))));
  return p * POW2_NEG[-n]!;
}

/**
 * The loops live apart from the kernel function, one per function, each
 * followed by a bare return: V8 optimises such a function (called once per
 * step) by on-stack replacement inside its loop and threw that code away at
 * any untried operation after the loop, on every call (2-3x slower).
 */
function totalWeight(lab: Int32Array, c: number, weightOf: Float64Array): number {
  let weights = 0;
  for (let p = 0; p < lab.length; p++) {
    const t = lab[p]!;
    if (t >= 0 && t < c) weights += weightOf[t]!;
  }
  return weights;
}

/** Writes the gradient (each counted pixel's weight times `scale`) and returns the weighted sum of -log p(true class). */
function lossAndGrad(z: Float32Array, lab: Int32Array, c: number, weightOf: Float64Array, scale: number, grad: Float32Array): number {
  let total = 0;
  for (let p = 0, o = 0; p < lab.length; p++, o += c) {
    let max = z[o]!;
    for (let k = 1; k < c; k++) max = Math.max(max, z[o + k]!);
    let sum = 0;
    for (let k = 0; k < c; k++) {
      const e = expNonPositive(z[o + k]! - max);
      grad[o + k] = e;
      sum += e;
    }
    const t = lab[p]!;
    const w = t >= 0 && t < c ? weightOf[t]! : 0;
    total += w === 0 ? 0 : w * (max + Math.log(sum) - z[o + t]!);
    const ws = w * scale;
    const wp = ws / sum;
    for (let k = 0; k < c; k++) grad[o + k] = wp * grad[o + k]!;
    // Minus the one-hot (a zero weight leaves nothing to subtract).
    if (w !== 0) grad[o + t] = grad[o + t]! - ws;
  }
  return total;
}

function kernel(args: KernelArgs): tf.TensorInfo[] {
  const { logits, labels } = args.inputs;
  if (logits == null || labels == null || logits.dtype !== 'float32' || labels.dtype !== 'int32') {
    throw new Error('tf-kernels: softmax cross-entropy needs float32 logits and int32 labels');
  }
  const { classWeights } = args.attrs as unknown as SoftmaxCEAttrs;
  const c = logits.shape[logits.shape.length - 1]!;
  const st = storeOf(args.backend);
  const out = st.outputs([[], logits.shape]);
  const [loss, grad] = out.arrays as [Float32Array, Float32Array];
  const z = st.read(logits);
  // The store hands typed arrays as stored: Int32Array for int32 labels.
  const lab = st.read(labels) as unknown as Int32Array;
  // Weight of each label value 0..c-1; any other label weighs 0.
  const weightOf = Float64Array.from({ length: c }, (_, k) => (classWeights == null ? 1 : classWeights[k]!));
  // The weights' total first (labels only), so one pass over the logits writes the gradient.
  const scale = 1 / Math.max(totalWeight(lab, c, weightOf), 1e-12);
  loss[0] = lossAndGrad(z, lab, c, weightOf, scale, grad) * scale;
  out.finish();
  return out.infos;
}

export const softmaxCEKernel = kernel as unknown as tf.KernelFunc;

/**
 * The mean softmax cross-entropy of `logits` [N, H, W, C] against int32
 * `labels` [N, H, W] as one op with its gradient, where the backend has the
 * kernel (wasm and cpu, registered by index.ts); undefined otherwise.
 */
export function softmaxCrossEntropy(logits: tf.Tensor4D, labels: tf.Tensor3D, classWeights?: number[]): tf.Scalar | undefined {
  if (tf.getKernel(SOFTMAX_CE, tf.getBackend()) == null || labels.dtype !== 'int32') return undefined;
  const attrs: SoftmaxCEAttrs = { classWeights: classWeights ?? null };
  // customGrad, not a registered gradient: a kernel with two outputs would get
  // a zero-filled dy made in JavaScript for the unused gradient output.
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [z, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [loss, grad] = tf.engine().runKernel(SOFTMAX_CE, { logits: z, labels }, attrs as unknown as tf.NamedAttrMap) as [tf.Scalar, tf.Tensor];
    save([grad]);
    return { value: loss, gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
  });
  return f(logits) as tf.Scalar;
}
