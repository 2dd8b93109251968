/**
 * The building blocks both models share, written with tfjs-core ops and our
 * own variables (not tfjs-layers) so we control atrous convs, weight decay,
 * per-layer learning-rate multipliers and normalisation state, and no
 * layers-API gradient limits apply.
 *
 * Variables are created lazily, by name, on first use: a model's forward
 * function is also its definition. The first (build) pass creates every
 * variable in a fixed order from a seeded generator, or takes it from a
 * loaded weight map.
 *
 * Normalisation. The study trains with batch 2. Batch norm's statistics over
 * two images are noisy and differ from the moving averages used at
 * inference, the known failure mode at small batches, so the default is
 * group norm (Wu & He 2018): no batch dependence, the same computation in
 * training and inference, nothing to update, deterministic on every backend.
 * `norm: batch` is available: training uses batch moments, inference uses
 * moving averages (momentum 0.9) divided by (1 - 0.9^updates) so they are
 * unbiased after only a few steps (the count is saved with the model).
 */
import * as tf from '@tensorflow/tfjs-core';
import { atrous, type Conv } from '../atrous.ts';
import { Rng } from '../rng.ts';
import { biasAct, convBiasAct, groupNormAct, hasConvBiasAct, trainsDilatedDepthwise, type FusedActivation } from '../../tf-kernels/index.ts';
import type { NormKind } from './config.ts';

export interface ParamInfo {
  variable: tf.Variable;
  /**
   * False for frozen layers (a pretrained trunk up to a block): no gradient is asked for them, so
   * tfjs skips the backward pass through everything before the first trainable layer.
   */
  trainable: boolean;
  /** Learning-rate multiplier (classifier head: x10 weights, x20 biases). */
  lrMult: number;
  /** Whether L2 weight decay applies (conv kernels yes; biases and norm scales no). */
  decay: boolean;
}

type Init = { kind: 'normal'; std: number } | { kind: 'const'; value: number };

/** All variables of one model, by name, in creation order. */
export class ParamStore {
  readonly params = new Map<string, ParamInfo>();
  /** Non-trainable state (batch-norm moving averages). */
  readonly state = new Map<string, tf.Variable>();
  /** Batch-norm moving-average updates applied so far (for de-biasing). */
  normUpdates = 0;
  private readonly rng: Rng;

  /**
   * `initial`: weights loaded from a model folder; when given, every variable must come from it,
   * unless `partial` (pretrained trunk weights): then the others are drawn from the seed.
   */
  constructor(
    seed: number,
    private readonly initial?: tf.NamedTensorMap,
    private readonly partial = false,
  ) {
    this.rng = new Rng(seed);
  }

  private value(name: string, shape: number[], init: Init): tf.Tensor {
    if (this.initial && (!this.partial || this.initial[name])) {
      const t = this.initial[name];
      if (!t) throw new Error(`saved weights lack '${name}'`);
      if (t.shape.join(',') !== shape.join(',')) throw new Error(`saved weight '${name}' has shape [${t.shape}], model wants [${shape}]`);
      return t;
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (init.kind === 'normal') for (let i = 0; i < size; i++) data[i] = this.rng.normal() * init.std;
    else data.fill(init.value);
    return tf.tensor(data, shape);
  }

  /** A trainable variable, created on first request. */
  param(name: string, shape: number[], init: Init, lrMult = 1, decay = true): tf.Variable {
    const have = this.params.get(name);
    if (have) return have.variable;
    // Unnamed: tfjs variable names are process-global, and tests build many models.
    const variable = tf.tidy(() => tf.variable(this.value(name, shape, init), true));
    this.params.set(name, { variable, lrMult, decay, trainable: true });
    return variable;
  }

  /** A non-trainable state variable, created on first request. */
  stateVar(name: string, shape: number[], value: number): tf.Variable {
    const have = this.state.get(name);
    if (have) return have;
    const v = tf.tidy(() => tf.variable(this.value(name, shape, { kind: 'const', value }), false));
    this.state.set(name, v);
    return v;
  }

  /** Every variable by name (params and state), e.g. for saving. */
  named(): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = {};
    for (const [k, p] of this.params) out[k] = p.variable;
    for (const [k, v] of this.state) out[k] = v;
    return out;
  }

  /** Throws if a loaded weight map holds names the model never asked for (a different architecture). */
  checkAllUsed(): void {
    if (!this.initial) return;
    const extra = Object.keys(this.initial).filter((k) => !this.params.has(k) && !this.state.has(k));
    if (extra.length) throw new Error(`saved weights hold ${extra.length} tensors this model does not use (e.g. '${extra[0]}')`);
  }

  dispose(): void {
    for (const p of this.params.values()) p.variable.dispose();
    for (const v of this.state.values()) v.dispose();
    this.params.clear();
    this.state.clear();
  }
}

/** A pending assignment to a state variable, applied after the gradient step. */
export interface StateUpdate {
  variable: tf.Variable;
  value: tf.Tensor;
}

/** One forward pass: where variables live and whether we are training. */
export interface Net {
  store: ParamStore;
  norm: NormKind;
  training: boolean;
  /** Collects batch-norm moving-average updates in training mode (kept tensors). */
  updates: StateUpdate[];
}

const BN_MOMENTUM = 0.9;
const EPS = 1e-5;

export interface ConvOpts {
  stride?: number;
  rate?: number;
  bias?: boolean;
  lrMult?: number;
  biasLrMult?: number;
  /** Std of the initial weights (default He: sqrt(2 / fan-in)). */
  std?: number;
  /** Activation after the bias; with a bias, both run as one kernel where the backend has it. */
  act?: NormActivation;
}

/** k x k conv, 'same' padding; stride or atrous rate (not both). */
export function conv(net: Net, name: string, x: tf.Tensor4D, k: number, cout: number, o: ConvOpts = {}): tf.Tensor4D {
  const cin = x.shape[3];
  const std = o.std ?? Math.sqrt(2 / (k * k * cin));
  const w = net.store.param(`${name}/w`, [k, k, cin, cout], { kind: 'normal', std }, o.lrMult ?? 1) as tf.Tensor4D;
  const b = o.bias ? (net.store.param(`${name}/b`, [cout], { kind: 'const', value: 0 }, o.biasLrMult ?? 1, false) as tf.Tensor1D) : undefined;
  return convLayer(x, w, b, false, o.stride ?? 1, o.rate ?? 1, o.act ?? 'linear');
}

/**
 * act(conv(x, w) + b) at a stride or an atrous rate. With a bias, as one op
 * where the backend has it (stages/lib/tf-kernels: the convolution applies
 * bias and activation itself, and one kernel starts the backward pass);
 * elsewhere conv, then {@link addBias}.
 */
function convLayer(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | undefined, depthwise: boolean, stride: number, rate: number, act: NormActivation): tf.Tensor4D {
  // Dilated depthwise layers train without space-to-batch where the kernels allow (wasm).
  const direct = depthwise && trainsDilatedDepthwise();
  if (b && hasConvBiasAct()) {
    const fused: Conv = (a, f, pad, r = 1) => convBiasAct(a, f, b, { depthwise, strides: [stride, stride], pad, activation: act, ...(r > 1 ? { dilations: [r, r] as [number, number] } : {}) })!;
    return stride > 1 ? fused(x, w, 'same') : atrous(x, w, rate, fused, direct);
  }
  const plain: Conv = (a, f, pad, r = 1) =>
    !depthwise
      ? tf.conv2d(a, f, stride, pad, 'NHWC', r)
      : r > 1 && direct
        ? convBiasAct(a, f, tf.zeros([f.shape[2]]), { depthwise, strides: [1, 1], pad, activation: 'linear', dilations: [r, r] })!
        : tf.depthwiseConv2d(a, f, stride, pad, 'NHWC', r);
  const y = stride > 1 ? plain(x, w, 'same') : atrous(x, w, rate, plain, direct);
  return b ? addBias(y, b, act) : activate(y, act);
}

/**
 * act(y + b). One kernel (forward and backward) on wasm and cpu: tfjs's
 * broadcasting add of a [C] vector runs a generic slow path on wasm, and
 * its gradient and the activation's are several more ops.
 */
export function addBias(y: tf.Tensor4D, b: tf.Tensor1D, act: NormActivation = 'linear'): tf.Tensor4D {
  return (biasAct(y, b, act) as tf.Tensor4D | undefined) ?? activate(tf.add(y, b), act);
}

/** k x k depthwise conv (multiplier 1), 'same' padding; stride or atrous rate; optional bias + activation (fused). */
export function depthwise(
  net: Net,
  name: string,
  x: tf.Tensor4D,
  k: number,
  o: { stride?: number; rate?: number; bias?: boolean; act?: NormActivation } = {},
): tf.Tensor4D {
  const cin = x.shape[3];
  const w = net.store.param(`${name}/dw`, [k, k, cin, 1], { kind: 'normal', std: Math.sqrt(2 / (k * k)) }) as tf.Tensor4D;
  const b = o.bias ? (net.store.param(`${name}/b`, [cin], { kind: 'const', value: 0 }, 1, false) as tf.Tensor1D) : undefined;
  return convLayer(x, w, b, true, o.stride ?? 1, o.rate ?? 1, o.act ?? 'linear');
}

/** Number of groups for group norm: up to 32, at least 4 channels each where possible. */
export function groupCount(channels: number): number {
  for (let g = Math.min(32, Math.floor(channels / 4)); g > 1; g--) if (channels % g === 0) return g;
  return 1;
}

/** The activation after a norm: applied by the fused kernel where there is one. */
export type NormActivation = FusedActivation;

function activate(x: tf.Tensor4D, act: NormActivation): tf.Tensor4D {
  return act === 'relu' ? tf.relu(x) : act === 'relu6' ? tf.relu6(x) : x;
}

/**
 * Normalisation + learned scale and shift (see the module comment), then
 * `act`. Group norm runs as one kernel (norm and activation, forward and
 * backward) on backends that have it (stages/lib/tf-kernels: wasm, cpu);
 * elsewhere as tfjs ops.
 */
export function norm(net: Net, name: string, x: tf.Tensor4D, act: NormActivation = 'linear'): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const gamma = net.store.param(`${name}/gamma`, [c], { kind: 'const', value: 1 }, 1, false) as tf.Tensor1D;
  const beta = net.store.param(`${name}/beta`, [c], { kind: 'const', value: 0 }, 1, false) as tf.Tensor1D;
  if (net.norm === 'group') {
    const g = groupCount(c);
    const fused = groupNormAct(x, gamma, beta, { groups: g, epsilon: EPS, activation: act });
    if (fused) return fused;
    const xg = tf.reshape(x, [n, h, w, g, c / g]);
    const { mean, variance } = tf.moments(xg, [1, 2, 4], true);
    const xn = tf.reshape(tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, EPS))), [n, h, w, c]);
    return activate(tf.add(tf.mul(xn, gamma), beta), act);
  }
  const movingMean = net.store.stateVar(`${name}/moving_mean`, [c], 0);
  const movingVar = net.store.stateVar(`${name}/moving_var`, [c], 0);
  let mean: tf.Tensor;
  let variance: tf.Tensor;
  if (net.training) {
    ({ mean, variance } = tf.moments(x, [0, 1, 2]));
    net.updates.push(
      { variable: movingMean, value: tf.keep(tf.add(tf.mul(movingMean, BN_MOMENTUM), tf.mul(mean, 1 - BN_MOMENTUM))) },
      { variable: movingVar, value: tf.keep(tf.add(tf.mul(movingVar, BN_MOMENTUM), tf.mul(variance, 1 - BN_MOMENTUM))) },
    );
  } else if (net.store.normUpdates > 0) {
    const debias = 1 / (1 - Math.pow(BN_MOMENTUM, net.store.normUpdates));
    mean = tf.mul(movingMean, debias);
    variance = tf.mul(movingVar, debias);
  } else {
    // Never trained: identity statistics.
    mean = tf.zerosLike(movingMean);
    variance = tf.onesLike(movingVar);
  }
  return activate(tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPS))), gamma), beta), act);
}

/** Bilinear resize to (h, w) with aligned corners, as DeepLab's TensorFlow code does. */
export function resize(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  if (x.shape[1] === h && x.shape[2] === w) return x;
  return tf.image.resizeBilinear(x, [h, w], true);
}
