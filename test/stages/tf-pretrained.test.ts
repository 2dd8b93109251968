/**
 * The ImageNet trunk is loaded right: with the weights of the Keras MobileNetV2
 * shipped in npm `nsfwjs`, our DeepLab trunk's block outputs equal what the
 * original tfjs-layers model computes for the same layers, on real images.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../stages/lib/tf/backend.ts';
import { mobilenetV2 } from '../../stages/lib/tf/models/deeplabv3plus.ts';
import { ParamStore } from '../../stages/lib/tf/models/layers.ts';
import type { ModelConfig } from '../../stages/lib/tf/models/config.ts';
import { bundledImagenet, foldTrunk, quantisationReport, type KerasArtifacts } from '../../stages/lib/tf/pretrained/keras-mobilenetv2.ts';
import { buildModel } from '../../stages/lib/tf/models/index.ts';
import { Rng } from '../../stages/lib/tf/rng.ts';

/** Keras layer whose output is the output of our block `id`. */
const kerasBlockOut = (id: number): string => (id === 0 ? 'expanded_conv_project_BN' : [2, 4, 5, 7, 8, 9, 11, 12].includes(id) ? `block_${id}_add` : `block_${id}_project_BN`);

/** Images with structure (gradients, discs, stripes, noise) in [-1, 1]: ImageNet preprocessing for MobileNetV2. */
function images(n: number, size: number): tf.Tensor4D {
  const rng = new Rng(3);
  const data = new Float32Array(n * size * size * 3);
  for (let i = 0; i < n; i++) {
    const cx = rng.uniform(0.2, 0.8) * size;
    const cy = rng.uniform(0.2, 0.8) * size;
    const r = rng.uniform(0.1, 0.3) * size;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const o = ((i * size + y) * size + x) * 3;
        const disc = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
        const stripe = Math.floor((x + y) / 6) % 2 === 0;
        data[o] = disc ? 0.8 : (x / size) * 2 - 1;
        data[o + 1] = stripe ? 0.3 : -0.5 + 0.2 * rng.normal();
        data[o + 2] = (y / size) * 1.5 - 0.75;
      }
  }
  return tf.tensor4d(data, [n, size, size, 3]);
}

const config: ModelConfig = { arch: 'deeplabv3plus', numClasses: 3, width: 1, outputStride: 16, norm: 'group', asppChannels: 16, decoderChannels: 16, trunk: 'folded' };

describe('Keras MobileNetV2 (nsfwjs) -> our trunk', () => {
  let keras: KerasArtifacts;
  beforeAll(async () => {
    expect((await selectBackend('cpu', { training: false })).ok).toBe(true);
    keras = await bundledImagenet();
  });

  it('our trunk with the folded weights reproduces the reference model block by block', async () => {
    // The reference is built for 224x224 inputs; any even size gives the same per-layer computation
    // (its stride-2 padding is ((0,1),(0,1)) at every even size), so accept any size to keep this fast.
    // Its classifier (a Flatten) needs the fixed size, so the reference is cut after block 12.
    type Topo = { model_config: { config: { layers: { name: string; config: { batch_input_shape?: unknown[] } }[]; output_layers: unknown[] } } };
    const topology = JSON.parse(JSON.stringify(keras.artifacts.modelTopology)) as Topo;
    const cfg = topology.model_config.config;
    cfg.layers[0]!.config.batch_input_shape = [null, null, null, 3];
    cfg.layers = cfg.layers.slice(0, cfg.layers.findIndex((l) => l.name === 'block_12_add') + 1);
    cfg.output_layers = [['block_12_add', 0, 0]];
    const ref = await tfl.loadLayersModel(tf.io.fromMemory({ ...keras.artifacts, modelTopology: topology as unknown as {} }), { strict: false });
    const folded = foldTrunk(keras);
    expect(folded.width).toBe(1);
    const store = new ParamStore(0, folded.weights, true);
    const x = images(2, 96);
    // Blocks 0..12 are identical in both (our atrous rates start at block 13, at output stride 16).
    const ids = [0, 2, 5, 9, 12];
    const ours = new Map<number, tf.Tensor>();
    mobilenetV2({ store, norm: 'group', training: false, updates: [] }, config, x, (id, h) => {
      if (ids.includes(id)) ours.set(id, tf.keep(h.clone()));
    });
    const sub = tfl.model({ inputs: ref.inputs, outputs: ids.map((id) => ref.getLayer(kerasBlockOut(id)).output as tfl.SymbolicTensor) });
    const theirs = sub.predict(x) as tf.Tensor[];
    ids.forEach((id, i) => {
      const a = ours.get(id)!;
      const b = theirs[i]!;
      expect(a.shape).toEqual(b.shape);
      const scale = tf.max(tf.abs(b)).dataSync()[0]!;
      const worst = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
      expect(scale).toBeGreaterThan(0.1); // real activations, not zeros
      expect(worst / scale, `block ${id}`).toBeLessThan(1e-4);
    });
    tf.dispose([x, ...ours.values(), ...theirs, ...Object.values(folded.weights)]);
    store.dispose();
    ref.dispose();
  });

  it('builds a whole DeepLab with every trunk tensor used and the head drawn from the seed', () => {
    const folded = foldTrunk(keras);
    const a = buildModel(config, { seed: 1, pretrained: folded.weights });
    const b = buildModel(config, { seed: 1, pretrained: folded.weights });
    const c = buildModel(config, { seed: 2, pretrained: folded.weights });
    const w = (m: typeof a, n: string) => m.store.params.get(n)!.variable.dataSync();
    expect(Array.from(w(a, 'block5/project/w'))).toEqual(Array.from(folded.weights['block5/project/w']!.dataSync()));
    expect(Array.from(w(a, 'classifier/w'))).toEqual(Array.from(w(b, 'classifier/w')));
    expect(Array.from(w(a, 'classifier/w'))).not.toEqual(Array.from(w(c, 'classifier/w')));
    // A trunk of another width does not fit: the shapes are checked.
    expect(() => buildModel({ ...config, width: 0.5 }, { seed: 1, pretrained: folded.weights })).toThrow(/shape/);
    [a, b, c].forEach((m) => m.dispose());
    tf.dispose(Object.values(folded.weights));
  });

  it('measures the uint8 quantisation of the stored weights', () => {
    const q = quantisationReport(keras);
    expect(q.quantised).toBeGreaterThan(200);
    // Rounding error is a small fraction of each tensor's spread.
    expect(q.medianRelative).toBeLessThan(0.05);
  });
});
