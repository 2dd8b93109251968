/**
 * `npm run bench -- trunk-step`: seconds per training step (batch 2, wasm route, one thread) and per
 * inference image for DeepLab v3+ variants: ImageNet trunk with 0 / 3 / 10 / 13 blocks frozen, and the
 * old default (width 0.5 from scratch) as the yardstick, all in one process, one after another.
 * Optional argument: a JSON list of variants `{crop, freeze, aspp, batch, os?, scratch?, width?}`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../stages/lib/tf/backend.ts';
import { buildModel } from '../stages/lib/tf/models/index.ts';
import { bundledImagenet, foldTrunk } from '../stages/lib/tf/pretrained/keras-mobilenetv2.ts';
import { Optimizer } from '../stages/lib/tf/optimizer.ts';
import { trainStep } from '../stages/lib/tf/train-step.ts';

await selectBackend('wasm', { training: true });
const folded = foldTrunk(await bundledImagenet());
const DEFAULT = [
  { crop: 128, freeze: 0, aspp: 64, batch: 2, scratch: true, width: 0.5 },
  { crop: 128, freeze: 0, aspp: 64, batch: 2 },
  { crop: 128, freeze: 3, aspp: 64, batch: 2 },
  { crop: 128, freeze: 10, aspp: 64, batch: 2 },
  { crop: 256, freeze: 0, aspp: 64, batch: 2 },
  { crop: 256, freeze: 3, aspp: 64, batch: 2 },
  { crop: 256, freeze: 13, aspp: 64, batch: 2 },
];
const variants = (process.argv[2] ? JSON.parse(process.argv[2]) : DEFAULT) as { crop: number; freeze: number; aspp: number; batch: number; os?: 8 | 16; scratch?: boolean; width?: number }[];
for (const v of variants) {
  const model = buildModel(
    { arch: 'deeplabv3plus', numClasses: 3, width: v.width ?? 1, outputStride: v.os ?? 16, norm: 'group', asppChannels: v.aspp, decoderChannels: v.aspp, trunk: v.scratch ? 'norm' : 'folded' },
    v.scratch ? { seed: 1 } : { seed: 1, pretrained: folded.weights },
  );
  for (const [name, info] of model.store.params) {
    const m = /^(stem|block(\d+))\//.exec(name);
    if (m && (m[1] === 'stem' || Number(m[2]) < v.freeze)) info.trainable = false;
  }
  const opt = new Optimizer({ kind: 'sgd', momentum: 0.9, weightDecay: 5e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const x = tf.randomUniform([v.batch, v.crop, v.crop, 3], -1, 1) as tf.Tensor4D;
  const y = tf.cast(tf.randomUniform([v.batch, v.crop, v.crop], 0, 3), 'int32') as tf.Tensor3D;
  trainStep(model, opt, x, y, 1e-3);
  const n = 4;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) trainStep(model, opt, x, y, 1e-3);
  const step = (performance.now() - t0) / n / 1000;
  const t1 = performance.now();
  for (let i = 0; i < 3; i++) tf.tidy(() => model.classify(tf.slice(x, [0], [1])).dataSync());
  const inf = (performance.now() - t1) / 3 / 1000;
  console.log(JSON.stringify({ ...v, sPerStep: +step.toFixed(3), sPerImageInfer: +inf.toFixed(3) }));
  model.dispose(); opt.dispose(); tf.dispose([x, y]);
}
