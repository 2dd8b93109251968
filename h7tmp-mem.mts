import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from './stages/lib/tf/backend.ts';
import { buildModel } from './stages/lib/tf/models/index.ts';
import { Optimizer } from './stages/lib/tf/optimizer.ts';
import { trainStep } from './stages/lib/tf/train-step.ts';
const [arch, width, ch] = process.argv.slice(2);
await selectBackend('cpu', { training: true });
const m = buildModel({ arch: arch as any, numClasses: 3, width: Number(width), outputStride: arch === 'largefov' ? 8 : 16, norm: 'group', asppChannels: Number(ch), decoderChannels: Number(ch) }, { seed: 1 });
const opt = new Optimizer({ kind: 'sgd', momentum: 0.9, weightDecay: 5e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
const x = tf.randomNormal([2, 256, 256, 3]) as tf.Tensor4D;
const y = tf.zeros([2, 256, 256], 'int32') as tf.Tensor3D;
for (let i = 0; i < 2; i++) { const t = Date.now(); trainStep(m, opt, x, y, 1e-3); console.log(arch, 'step', i, Date.now() - t, 'ms rss', Math.round(process.memoryUsage().rss / 2**20), 'MiB', 'tensors', tf.memory().numTensors); }
