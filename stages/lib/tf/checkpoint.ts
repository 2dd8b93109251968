/**
 * Resumable training state in the stage's private work folder: model
 * weights, optimiser slots, step and curve, written as a model folder
 * (`step-000300/`) with a `latest.json` pointer renamed into place last, so
 * a crash mid-write leaves the previous checkpoint in force.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../../../src/stage-api.ts';
import { loadModel, saveModel } from './io-handler.ts';
import type { SegModel } from './models/index.ts';
import { Optimizer, SLOT_PREFIX, type OptimizerConfig } from './optimizer.ts';

export interface CurvePoint {
  step: number;
  loss: number;
  lr: number;
  imagesPerSec: number;
}

export interface TrainState {
  model: SegModel;
  optimizer: Optimizer;
  /** Steps completed. */
  step: number;
  curve: CurvePoint[];
}

interface Pointer {
  key: string;
  step: number;
  dir: string;
}

/** Writes a checkpoint and makes it the latest; older ones are removed. */
export async function saveCheckpoint(root: string, key: string, s: TrainState): Promise<void> {
  const dir = `step-${String(s.step).padStart(6, '0')}`;
  await rm(path.join(root, dir), { recursive: true, force: true });
  await saveModel(s.model, path.join(root, dir), {
    tensors: s.optimizer.named(),
    json: { key, step: s.step, iterations: s.optimizer.iterations, curve: s.curve },
  });
  const pointer: Pointer = { key, step: s.step, dir };
  await writeFileAtomic(path.join(root, 'latest.json'), JSON.stringify(pointer));
  for (const name of await readdir(root)) {
    if (name.startsWith('step-') && name !== dir) await rm(path.join(root, name), { recursive: true, force: true });
  }
}

/**
 * The latest checkpoint written with the same `key` (a fingerprint of the
 * training settings), or undefined when there is none or it belongs to
 * other settings.
 */
export async function loadCheckpoint(root: string, key: string, opt: OptimizerConfig): Promise<TrainState | undefined> {
  let pointer: Pointer;
  try {
    pointer = JSON.parse(await readFile(path.join(root, 'latest.json'), 'utf8')) as Pointer;
  } catch {
    return undefined;
  }
  if (pointer.key !== key) return undefined;
  const { model, topology, extraTensors } = await loadModel(path.join(root, pointer.dir), SLOT_PREFIX);
  const extra = (topology.extra ?? {}) as { iterations?: number; curve?: CurvePoint[] };
  const optimizer = new Optimizer(opt);
  optimizer.restore(extraTensors, extra.iterations ?? pointer.step);
  tf.dispose(Object.values(extraTensors));
  return { model, optimizer, step: pointer.step, curve: extra.curve ?? [] };
}
