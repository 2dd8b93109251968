/**
 * ImageNet weights for the DeepLab v3+ trunk, without a download: a Keras
 * MobileNetV2 in tfjs layers format (model.json + weight shards), read by
 * layer name and turned into our trunk's variables with each batch norm
 * folded into the conv before it (frozen statistics: `trunk: folded`).
 *
 * Sources (`backbone` param of `train`):
 * - `imagenet`: the MobileNetV2 (width 1.0) that the npm package `nsfwjs`
 *   (MIT) ships in `dist/models/mobilenet_v2/`. Its layers `Conv1` ..
 *   `block_10` are marked `trainable: false` by its authors, i.e. kept at
 *   their ImageNet values; `block_11` .. `block_16` were fine-tuned by them on
 *   their own data from ImageNet. Its weights are stored uint8-quantised per
 *   tensor (see `quantisationReport`). The files are CommonJS modules: one
 *   exporting `{ modelTopology, weightsManifest }`, one exporting the weight
 *   bytes as one base64 string.
 * - a folder: any Keras MobileNetV2 converted with `tensorflowjs_converter`
 *   (model.json + shards), e.g. `keras.applications.MobileNetV2(weights='imagenet')`
 *   on a machine that can download it; any width multiplier.
 *
 * Keras pads stride-2 layers explicitly with ((0,1),(0,1)) then convolves
 * 'valid': for even inputs that is what 'same' padding does, so our convs
 * need no change (the reference test checks it). Keras' batch norm epsilon is
 * read from the topology (1e-3 in MobileNetV2).
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/** A Keras model in tfjs layers format, in memory. */
export interface KerasArtifacts {
  /** What it was read from, for messages and train.json. */
  source: string;
  artifacts: tf.io.ModelArtifacts;
}

interface KerasLayer {
  class_name: string;
  config: { name: string; epsilon?: number; trainable?: boolean; filters?: number };
}

/** The layer list of a (functional) Keras model's topology. */
export function kerasLayers(a: tf.io.ModelArtifacts): KerasLayer[] {
  const topo = a.modelTopology as { model_config?: { config?: { layers?: KerasLayer[] } } } | undefined;
  const layers = topo?.model_config?.config?.layers;
  if (!Array.isArray(layers)) throw new Error('model.json holds no Keras layer list (modelTopology.model_config.config.layers)');
  return layers;
}

/** The MobileNetV2 bundled with npm `nsfwjs` (see the module comment). */
export async function bundledImagenet(): Promise<KerasArtifacts> {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    // Its `exports` map hides package.json and the model files: find the package root from its entry.
    let root = path.dirname(require.resolve('nsfwjs'));
    while (path.basename(root) !== 'nsfwjs' && path.dirname(root) !== root) root = path.dirname(root);
    dir = path.join(root, 'dist', 'models', 'mobilenet_v2');
  } catch {
    throw new Error("the npm package 'nsfwjs' (which holds the ImageNet MobileNetV2) is not installed: run npm install, or set backbone: scratch");
  }
  const model = require(path.join(dir, 'model.min.js')) as { modelTopology: {}; weightsManifest: tf.io.WeightsManifestConfig };
  const shard = require(path.join(dir, 'group1-shard1of1.min.js')) as string;
  const bytes = Buffer.from(shard, 'base64');
  return {
    source: `nsfwjs/dist/models/mobilenet_v2 (${dir})`,
    artifacts: {
      modelTopology: model.modelTopology,
      weightSpecs: model.weightsManifest.flatMap((g) => g.weights),
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    },
  };
}

/** A converted Keras model in a folder: model.json and the shards its manifest names. */
export async function folderKeras(dir: string): Promise<KerasArtifacts> {
  const file = path.join(dir, 'model.json');
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as tf.io.ModelJSON;
  } catch (e) {
    throw new Error(`cannot read a Keras model from ${file}: ${(e as Error).message}`);
  }
  const buffers: ArrayBuffer[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const p of group.paths) {
      const b = await readFile(path.join(dir, p)).catch(() => {
        throw new Error(`${file} names the weight file ${p}, which cannot be read`);
      });
      buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    }
    specs.push(...group.weights);
  }
  return { source: dir, artifacts: { modelTopology: json.modelTopology, weightSpecs: specs, weightData: tf.io.CompositeArrayBuffer.join(buffers) } };
}

/** Keras layer names of our trunk's convs: stem, then per block expand / depthwise / project. */
function kerasNames(ours: string): { conv: string; bn: string } {
  if (ours === 'stem') return { conv: 'Conv1', bn: 'bn_Conv1' };
  const m = /^block(\d+)\/(expand|dw|project)$/.exec(ours);
  if (!m) throw new Error(`not a trunk conv: ${ours}`);
  const id = Number(m[1]);
  const part = m[2] === 'dw' ? 'depthwise' : m[2]!;
  const conv = id === 0 ? `expanded_conv_${part}` : `block_${id}_${part}`;
  return { conv, bn: `${conv}_BN` };
}

/** Our trunk convs, in order, for `blocks` inverted-residual blocks (17 in MobileNetV2). */
export function trunkConvNames(blocks = 17): string[] {
  const names = ['stem'];
  for (let i = 0; i < blocks; i++) {
    if (i > 0) names.push(`block${i}/expand`);
    names.push(`block${i}/dw`, `block${i}/project`);
  }
  return names;
}

export interface FoldedTrunk {
  /** Our variable names (`stem/w`, `stem/b`, `block3/dw/dw`, `block3/dw/b`, ...) -> tensors. */
  weights: tf.NamedTensorMap;
  /** MobileNetV2 width multiplier, from the last block's channels (320 x width). */
  width: number;
}

/**
 * Our trunk's variables from a Keras MobileNetV2: every conv's kernel times
 * gamma / sqrt(moving_variance + eps) per output channel, and a bias
 * beta - moving_mean * that scale. The caller owns the returned tensors.
 */
export function foldTrunk(k: KerasArtifacts): FoldedTrunk {
  const layers = kerasLayers(k.artifacts);
  const byName = new Map(layers.map((l) => [l.config.name, l]));
  const all = tf.io.decodeWeights(k.artifacts.weightData ?? new ArrayBuffer(0), k.artifacts.weightSpecs ?? []);
  const get = (name: string): tf.Tensor => {
    const t = all[name];
    if (!t) throw new Error(`${k.source} lacks the weight '${name}': not a Keras MobileNetV2`);
    return t;
  };
  const out: tf.NamedTensorMap = {};
  try {
    const last = get('block_16_project/kernel');
    const width = last.shape[3]! / 320;
    for (const ours of trunkConvNames()) {
      const { conv, bn } = kerasNames(ours);
      const eps = byName.get(bn)?.config.epsilon ?? 1e-3;
      const depthwise = ours.endsWith('/dw');
      const kernel = get(`${conv}/${depthwise ? 'depthwise_kernel' : 'kernel'}`);
      tf.tidy(() => {
        const scale = tf.div(get(`${bn}/gamma`), tf.sqrt(tf.add(get(`${bn}/moving_variance`), eps)));
        const bias = tf.sub(get(`${bn}/beta`), tf.mul(get(`${bn}/moving_mean`), scale));
        // Conv kernels [k,k,cin,cout] scale along cout; depthwise [k,k,c,1] along c.
        const w = depthwise ? tf.mul(kernel, tf.reshape(scale, [1, 1, -1, 1])) : tf.mul(kernel, scale);
        out[depthwise ? `${ours}/dw` : `${ours}/w`] = tf.keep(w);
        out[`${ours}/b`] = tf.keep(bias);
      });
    }
    return { weights: out, width };
  } catch (e) {
    tf.dispose(Object.values(out));
    throw e;
  } finally {
    tf.dispose(Object.values(all));
  }
}

/** Per quantised trunk tensor: the worst-case rounding error (scale / 2) relative to the tensor's std. */
export function quantisationReport(k: KerasArtifacts): { tensors: number; quantised: number; worstRelative: number; medianRelative: number } {
  const specs = k.artifacts.weightSpecs ?? [];
  const all = tf.io.decodeWeights(k.artifacts.weightData ?? new ArrayBuffer(0), specs);
  const rel: number[] = [];
  try {
    for (const s of specs) {
      if (!s.quantization?.scale || !/^(Conv1|bn_Conv1|expanded_conv|block_)/.test(s.name)) continue;
      const std = tf.tidy(() => Math.sqrt(tf.moments(all[s.name]!).variance.dataSync()[0]!));
      if (std > 0) rel.push(s.quantization.scale / 2 / std);
    }
  } finally {
    tf.dispose(Object.values(all));
  }
  rel.sort((a, b) => a - b);
  return { tensors: specs.length, quantised: rel.length, worstRelative: rel.at(-1) ?? 0, medianRelative: rel[Math.floor(rel.length / 2)] ?? 0 };
}
