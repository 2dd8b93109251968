/**
 * A segmentation model: its config, its variables, and a forward function.
 * `buildModel` creates the variables by running the forward once on a small
 * input (see layers.ts), from a seed or from loaded weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import { configProblem, type ModelConfig } from './config.ts';
import { deeplabV3Plus } from './deeplabv3plus.ts';
import { largeFov } from './largefov.ts';
import { ParamStore, type Net, type StateUpdate } from './layers.ts';
import { unreachable } from '../../../../src/stage-api.ts';

export type { ModelConfig } from './config.ts';

export interface SegModel {
  readonly config: ModelConfig;
  readonly store: ParamStore;
  /**
   * Logits `[N, H, W, C]` for images `[N, H, W, 3]` normalised to [-1, 1].
   * In training mode, batch-norm moving-average updates are pushed to `updates`.
   */
  logits(x: tf.Tensor4D, training: boolean, updates?: StateUpdate[]): tf.Tensor4D;
  /**
   * Class index per pixel `[N, H, W]` (inference mode). `flip`: also predict the mirrored image and
   * add the mirrored-back logits (test-time augmentation, as DeepLab's evaluation with flipped inputs).
   */
  classify(x: tf.Tensor4D, opts?: { flip?: boolean }): tf.Tensor3D;
  /** Inference-mode logits `[N, H, W, C]`; with `flip`, the mean of the image's and its mirror image's. */
  scores(x: tf.Tensor4D, opts?: { flip?: boolean }): tf.Tensor4D;
  dispose(): void;
}

function forward(cfg: ModelConfig, net: Net, x: tf.Tensor4D): tf.Tensor4D {
  switch (cfg.arch) {
    case 'deeplabv3plus':
      return deeplabV3Plus(net, cfg, x);
    case 'largefov':
      return largeFov(net, cfg, x);
    default:
      return unreachable(cfg.arch, 'arch');
  }
}

/**
 * Builds a model. With `weights` every variable is taken from them (and the
 * map must fit exactly); with `pretrained` the variables it names are taken
 * from it (every one must be used, shapes must fit) and the rest drawn from
 * `seed`; otherwise every variable is initialised from `seed`. The caller
 * keeps ownership of the given tensors. Throws on an impossible config or
 * mismatched weights.
 */
export function buildModel(
  config: ModelConfig,
  init: { seed: number; pretrained?: tf.NamedTensorMap } | { weights: tf.NamedTensorMap; normUpdates: number },
): SegModel {
  const problem = configProblem(config);
  if (problem) throw new Error(problem);
  const store =
    'weights' in init ? new ParamStore(0, init.weights) : init.pretrained ? new ParamStore(init.seed, init.pretrained, true) : new ParamStore(init.seed);
  if ('weights' in init) store.normUpdates = init.normUpdates;
  const model: SegModel = {
    config,
    store,
    logits(x, training, updates = []) {
      return forward(config, { store, norm: config.norm, training, updates }, x);
    },
    classify(x, opts = {}) {
      return tf.tidy(() => tf.argMax(this.scores(x, opts), 3) as tf.Tensor3D);
    },
    scores(x, opts = {}) {
      return tf.tidy(() => {
        const z = this.logits(x, false);
        if (!opts.flip) return z;
        // The mean, not the sum: a CRF reads these as unary scores, whose scale its weights are tuned against.
        return tf.mul(tf.add(z, tf.reverse(this.logits(tf.reverse(x, 2), false), 2)), 0.5) as tf.Tensor4D;
      });
    },
    dispose() {
      store.dispose();
    },
  };
  try {
    // The build pass: 32x32 is the smallest size every stride divides.
    tf.tidy(() => {
      model.logits(tf.zeros([1, 32, 32, 3]), false);
    });
    store.checkAllUsed();
  } catch (e) {
    store.dispose();
    throw e;
  }
  return model;
}
