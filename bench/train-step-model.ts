/**
 * A DeepLab v3+-like segmentation net written with tfjs-core ops only
 * (MobileNetV2-style backbone, ASPP with atrous convs through
 * spaceToBatchND/batchToSpaceND, image pooling, decoder), for timing training
 * steps and for checking that wasm training follows the CPU backend. It uses
 * the same ops as the project's models (stages/lib/tf) but is its own small
 * copy so the kernels can be tested without them.
 *
 * Weights come from a seeded generator, so two backends start from the same
 * numbers and their loss curves can be compared.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../stages/lib/tf/rng.ts';

/** Size knobs. */
export interface NetConfig {
  /** Backbone width multiplier (MobileNetV2's alpha). */
  readonly width: number;
  /** Channels of the ASPP branches and the decoder. */
  readonly headChannels: number;
  /** Atrous rates of the three 3x3 ASPP branches (dilation through spaceToBatchND). */
  readonly rates: readonly [number, number, number];
  readonly classes: number;
  /** MobileNetV2 stages (expansion t, channels c, repeats n, stride s); fewer rows make a smaller net. */
  readonly stages: ReadonlyArray<readonly [number, number, number, number]>;
  /** Add a VGG-style maxPool (stride 1) after the stem: covers MaxPoolGrad. */
  readonly maxPool?: boolean;
}

/** The MobileNetV2 backbone at output stride 16 (the last stride-2 stage runs at stride 1). */
export const MOBILENET_V2_STAGES: NetConfig['stages'] = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 1], [6, 320, 1, 1],
];

/** One convolution as counted for FLOPs. */
export interface ConvCount {
  readonly flops: number;
  /** False for the stem, whose input gradient (w.r.t. the image) is never computed. */
  readonly needsInputGrad: boolean;
}

/** Uniform numbers in [0, 1) from the training code's seeded generator (mulberry32). */
function mulberry32(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

function gaussian(rand: () => number, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const a = 2 * Math.PI * rand();
    out[i] = r * Math.cos(a) * std;
    if (i + 1 < n) out[i + 1] = r * Math.sin(a) * std;
  }
  return out;
}

const ch = (c: number, width: number): number => Math.max(8, Math.round((c * width) / 8) * 8);

/** The net: variables plus a forward function. Build it under the backend it will train on. */
export class SegNet {
  readonly variables: tf.Variable[] = [];
  /** Conv FLOPs of one forward pass, filled by the first `forward` call. */
  convs: ConvCount[] = [];
  private counting = true;
  private readonly rand: () => number;
  private readonly weights = new Map<string, tf.Variable>();

  constructor(readonly config: NetConfig, seed = 1) {
    this.rand = mulberry32(seed);
  }

  private weight(name: string, shape: number[], init: 'he' | 'ones' | 'zeros', fanIn = 1): tf.Variable {
    const found = this.weights.get(name);
    if (found != null) return found;
    const size = shape.reduce((a, b) => a * b, 1);
    const values =
      init === 'he' ? gaussian(this.rand, size, Math.sqrt(2 / fanIn)) : new Float32Array(size).fill(init === 'ones' ? 1 : 0);
    const v = tf.variable(tf.tensor(values, shape), true, name);
    this.weights.set(name, v);
    this.variables.push(v);
    return v;
  }

  private count(flops: number, needsInputGrad = true): void {
    if (this.counting) this.convs.push({ flops, needsInputGrad });
  }

  private conv(name: string, x: tf.Tensor4D, k: number, co: number, stride = 1): tf.Tensor4D {
    const [n, , , ci] = x.shape;
    const w = this.weight(`${name}/w`, [k, k, ci, co], 'he', k * k * ci);
    const y = tf.conv2d(x, w as tf.Tensor4D, stride, 'same');
    this.count(2 * n * y.shape[1] * y.shape[2] * k * k * ci * co, !name.startsWith('stem'));
    return y;
  }

  private depthwise(name: string, x: tf.Tensor4D, stride: number): tf.Tensor4D {
    const [n, , , c] = x.shape;
    const w = this.weight(`${name}/dw`, [3, 3, c, 1], 'he', 9);
    const y = tf.depthwiseConv2d(x, w as tf.Tensor4D, stride, 'same');
    this.count(2 * n * y.shape[1] * y.shape[2] * 9 * c);
    return y;
  }

  /** Batch norm with the batch's own moments (training mode), then scale and shift. */
  private norm(name: string, x: tf.Tensor4D): tf.Tensor4D {
    const c = x.shape[3];
    const gamma = this.weight(`${name}/gamma`, [c], 'ones');
    const beta = this.weight(`${name}/beta`, [c], 'zeros');
    const { mean, variance } = tf.moments(x, [0, 1, 2], true);
    const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-3)));
    return tf.add(tf.mul(normed, gamma), beta) as tf.Tensor4D;
  }

  /** Applies `f` with dilation `rate` by folding the rate into the batch (tfjs has no gradient for dilated convs). */
  private atrous(x: tf.Tensor4D, rate: number, f: (x: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D {
    if (rate === 1) return f(x);
    const [, h, w] = x.shape;
    const ph = Math.ceil(h / rate) * rate - h;
    const pw = Math.ceil(w / rate) * rate - w;
    const folded = tf.spaceToBatchND(x, [rate, rate], [[0, ph], [0, pw]]) as tf.Tensor4D;
    return tf.batchToSpaceND(f(folded), [rate, rate], [[0, ph], [0, pw]]) as tf.Tensor4D;
  }

  private block(name: string, x: tf.Tensor4D, t: number, co: number, stride: number, rate: number): tf.Tensor4D {
    const ci = x.shape[3];
    let y = x;
    if (t !== 1) y = tf.relu6(this.norm(`${name}/expand_bn`, this.conv(`${name}/expand`, y, 1, ci * t)));
    y = this.atrous(y, rate, (z) => this.depthwise(`${name}/dw`, z, stride));
    y = tf.relu6(this.norm(`${name}/dw_bn`, y));
    y = this.norm(`${name}/project_bn`, this.conv(`${name}/project`, y, 1, co));
    return stride === 1 && ci === co ? (tf.add(x, y) as tf.Tensor4D) : y;
  }

  /** Creates the variables (and counts FLOPs) for images of shape [n, size, size, 3]; call before training. */
  build(n: number, size: number): this {
    tf.tidy(() => {
      this.forward(tf.zeros([n, size, size, 3]));
    });
    return this;
  }

  /** Logits [N, H, W, classes] for images [N, H, W, 3]. */
  forward(images: tf.Tensor4D): tf.Tensor4D {
    const { width, headChannels: hc, rates, classes, stages } = this.config;
    let x = tf.relu6(this.norm('stem_bn', this.conv('stem', images, 3, ch(32, width), 2)));
    if (this.config.maxPool === true) x = tf.maxPool(x, 3, 1, 'same');
    let low: tf.Tensor4D | undefined;
    let outputStride = 2;
    stages.forEach(([t, c, n, s], si) => {
      for (let i = 0; i < n; i++) {
        const stride = i === 0 ? s : 1;
        // Past output stride 16, dilate instead of striding (DeepLab).
        const rate = outputStride >= 16 && si >= 5 ? 2 : 1;
        x = this.block(`b${si}_${i}`, x, t, ch(c, width), stride, rate);
        outputStride *= stride;
      }
      if (outputStride === 4 && low == null) low = x;
    });
    const [, fh, fw] = x.shape;
    // ASPP: 1x1, three atrous 3x3, image pooling.
    const branches = [tf.relu(this.norm('aspp0_bn', this.conv('aspp0', x, 1, hc)))];
    rates.forEach((r, i) => {
      branches.push(tf.relu(this.norm(`aspp${i + 1}_bn`, this.atrous(x, r, (z) => this.conv(`aspp${i + 1}`, z, 3, hc)))));
    });
    const pooled = tf.mean(x, [1, 2], true) as tf.Tensor4D;
    const pooledFeat = tf.relu(this.conv('pool', pooled, 1, hc));
    branches.push(tf.image.resizeBilinear(pooledFeat, [fh, fw]));
    let y = tf.relu(this.norm('aspp_bn', this.conv('aspp_proj', tf.concat(branches, 3) as tf.Tensor4D, 1, hc)));
    // Decoder: upsample to the stride-4 features, fuse, refine.
    const skip = low ?? x;
    const lowFeat = tf.relu(this.norm('low_bn', this.conv('low', skip, 1, 48)));
    y = tf.image.resizeBilinear(y, [skip.shape[1], skip.shape[2]]);
    y = tf.concat([y, lowFeat], 3) as tf.Tensor4D;
    y = tf.relu(this.norm('dec1_bn', this.conv('dec1', y, 3, hc)));
    y = tf.relu(this.norm('dec2_bn', this.conv('dec2', y, 3, hc)));
    y = this.conv('logits', y, 1, classes);
    const out = tf.image.resizeBilinear(y, [images.shape[1], images.shape[2]]);
    this.counting = false;
    return out;
  }

  /** Mean softmax cross-entropy over pixels whose label is below `classes` (others are ignored). */
  loss(images: tf.Tensor4D, labels: tf.Tensor3D): tf.Scalar {
    const logits = this.forward(images);
    const k = this.config.classes;
    const valid = tf.cast(tf.less(labels, k), 'float32');
    const target = tf.oneHot(tf.minimum(labels, tf.scalar(k - 1, 'int32')) as tf.Tensor3D, k);
    const perPixel = tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(logits)), -1));
    return tf.div(tf.sum(tf.mul(perPixel, valid)), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
  }

  /** Conv FLOPs of one training step: forward, filter gradients, and input gradients where computed. */
  trainFlops(): number {
    return this.convs.reduce((sum, c) => sum + c.flops * (c.needsInputGrad ? 3 : 2), 0);
  }
}

/** A reproducible batch: smooth random images and labels from their colour. */
export function syntheticBatch(n: number, size: number, classes: number, seed = 7): { images: tf.Tensor4D; labels: tf.Tensor3D } {
  const rand = mulberry32(seed);
  const img = new Float32Array(n * size * size * 3);
  const lab = new Int32Array(n * size * size);
  for (let b = 0; b < n; b++) {
    const fx = 1 + rand() * 4;
    const fy = 1 + rand() * 4;
    const ph = rand() * 6;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = Math.sin((fx * x) / size * Math.PI + ph) * Math.cos((fy * y) / size * Math.PI);
        const p = (b * size + y) * size + x;
        img[p * 3] = v;
        img[p * 3 + 1] = rand() * 0.2;
        img[p * 3 + 2] = (x / size) - 0.5;
        // A few pixels carry the ignore label.
        lab[p] = rand() < 0.02 ? 255 : Math.min(classes - 1, Math.floor(((v + 1) / 2) * classes));
      }
    }
  }
  return { images: tf.tensor4d(img, [n, size, size, 3]), labels: tf.tensor3d(lab, [n, size, size], 'int32') };
}
