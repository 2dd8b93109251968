/**
 * Model files on disk without tfjs-node (whose `file://` handler is the only
 * one tfjs has for Node): a tf.io.IOHandler writing the standard layout,
 * model.json + weights.bin, each to a temp name then renamed, model.json
 * last so its presence means the folder is complete.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../../src/stage-api.ts';
import type { ClassList } from '../image/class-list.ts';
import { MODEL_JSON, MODEL_WEIGHTS as WEIGHTS } from './model-files.ts';
import { buildModel, type ModelConfig, type SegModel } from './models/index.ts';

const FORMAT = 'pipe-segmentation';

/** A tf.io handler for a folder: `save` writes model.json + weights.bin, `load` reads them. */
export function folderHandler(dir: string): Required<Pick<tf.io.IOHandler, 'save' | 'load'>> {
  return {
    async save(a: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const data = a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData);
      await writeFileAtomic(path.join(dir, WEIGHTS), new Uint8Array(data));
      const json: tf.io.ModelJSON = {
        modelTopology: a.modelTopology as {},
        format: a.format ?? FORMAT,
        generatedBy: a.generatedBy ?? 'pipe',
        convertedBy: null,
        weightsManifest: [{ paths: [WEIGHTS], weights: a.weightSpecs ?? [] }],
        ...(a.userDefinedMetadata ? { userDefinedMetadata: a.userDefinedMetadata } : {}),
      };
      await writeFileAtomic(path.join(dir, MODEL_JSON), JSON.stringify(json, null, 1));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const json = JSON.parse(await readFile(path.join(dir, MODEL_JSON), 'utf8')) as tf.io.ModelJSON;
      const manifest = json.weightsManifest ?? [];
      const buffers: ArrayBuffer[] = [];
      const specs: tf.io.WeightsManifestEntry[] = [];
      for (const group of manifest) {
        for (const p of group.paths) {
          const b = await readFile(path.join(dir, p));
          buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        }
        specs.push(...group.weights);
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        weightSpecs: specs,
        weightData: tf.io.CompositeArrayBuffer.join(buffers),
        ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata } : {}),
      };
    },
  };
}

/** What model.json's modelTopology holds for our models. */
export interface Topology {
  format: typeof FORMAT;
  config: ModelConfig;
  normUpdates: number;
  /**
   * The classes the model predicts (names, mask colours, ignore label), so
   * `evaluate` can check its labels against them; absent in older models.
   */
  classes?: ClassList;
  /** Free-form extra state (a checkpoint's step, optimiser counters, curve). */
  extra?: Record<string, unknown>;
}

/** Saves a model (plus optional extra tensors, e.g. optimiser slots) to `dir`. */
export async function saveModel(
  model: SegModel,
  dir: string,
  extra?: { tensors?: tf.NamedTensorMap; json?: Record<string, unknown>; classes?: ClassList },
): Promise<void> {
  const named = { ...model.store.named(), ...(extra?.tensors ?? {}) };
  const { data, specs } = await tf.io.encodeWeights(named);
  const topology: Topology = {
    format: FORMAT,
    config: model.config,
    normUpdates: model.store.normUpdates,
    ...(extra?.classes ? { classes: extra.classes } : {}),
    ...(extra?.json ? { extra: extra.json } : {}),
  };
  await folderHandler(dir).save({ modelTopology: topology as unknown as {}, weightSpecs: specs, weightData: data, format: FORMAT });
}

export interface LoadedModel {
  model: SegModel;
  topology: Topology;
  /** Saved tensors the model does not use (checkpoint optimiser slots), owned by the caller. */
  extraTensors: tf.NamedTensorMap;
}

/**
 * Loads a model saved by `saveModel`. `extraPrefix` names tensors that are not
 * model weights (kept apart and returned). Throws with a message naming the
 * folder when the files are missing or not ours.
 */
export async function loadModel(dir: string, extraPrefix = 'opt/'): Promise<LoadedModel> {
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await folderHandler(dir).load();
  } catch (e) {
    throw new Error(`cannot read a model from ${dir}: ${(e as Error).message}`);
  }
  const topology = artifacts.modelTopology as unknown as Topology;
  if (!topology || topology.format !== FORMAT || !topology.config) {
    throw new Error(`${path.join(dir, MODEL_JSON)} is not a model saved by pipe's train stage`);
  }
  const all = tf.io.decodeWeights(artifacts.weightData ?? new ArrayBuffer(0), artifacts.weightSpecs ?? []);
  const weights: tf.NamedTensorMap = {};
  const extraTensors: tf.NamedTensorMap = {};
  for (const [k, t] of Object.entries(all)) (k.startsWith(extraPrefix) ? extraTensors : weights)[k] = t;
  try {
    const model = buildModel(topology.config, { weights, normUpdates: topology.normUpdates });
    return { model, topology, extraTensors };
  } catch (e) {
    Object.values(extraTensors).forEach((t) => t.dispose());
    throw new Error(`model in ${dir} does not match its config: ${(e as Error).message}`);
  } finally {
    // The store copied them into variables.
    Object.values(weights).forEach((t) => t.dispose());
  }
}
