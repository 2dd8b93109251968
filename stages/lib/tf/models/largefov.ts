/**
 * DeepLab v1 "LargeFOV" (Chen et al. 2015): VGG-16 with the last two pools
 * at stride 1, conv5 at rate 2 and fc6 as a 3x3 conv at rate 12 (1024
 * channels), output stride 8, bilinear upsampling of the logits. Channels
 * scale with `width`. Unlike the original (ImageNet-pretrained, no
 * normalisation) every conv is followed by the configured normalisation,
 * because we train from scratch and a 16-layer plain net does not train
 * from scratch without it. Dropout is left out to keep training deterministic.
 */
import * as tf from '@tensorflow/tfjs-core';
import { makeDivisible, type ModelConfig } from './config.ts';
import { conv, norm, resize, type Net } from './layers.ts';

/** VGG-16 stages: [convs, channels, pool stride after, conv rate]. */
const STAGES: [n: number, c: number, poolStride: number, rate: number][] = [
  [2, 64, 2, 1],
  [2, 128, 2, 1],
  [3, 256, 2, 1],
  [3, 512, 1, 1],
  [3, 512, 1, 2],
];

export function largeFov(net: Net, cfg: ModelConfig, x: tf.Tensor4D): tf.Tensor4D {
  const [, H, W] = x.shape;
  let h = x;
  STAGES.forEach(([n, c, poolStride, rate], s) => {
    for (let i = 0; i < n; i++) {
      const name = `conv${s + 1}_${i + 1}`;
      h = norm(net, `${name}/norm`, conv(net, name, h, 3, makeDivisible(c * cfg.width), { rate }), 'relu');
    }
    h = tf.maxPool(h, 3, poolStride, 'same');
  });
  const fc = makeDivisible(1024 * cfg.width);
  h = norm(net, 'fc6/norm', conv(net, 'fc6', h, 3, fc, { rate: 12 }), 'relu');
  h = norm(net, 'fc7/norm', conv(net, 'fc7', h, 1, fc), 'relu');
  const logits = conv(net, 'fc8', h, 1, cfg.numClasses, { bias: true, lrMult: 10, biasLrMult: 20, std: 0.01 });
  return resize(logits, H, W);
}
