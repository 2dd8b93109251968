/**
 * One training on two cores: each step splits the batch in two, a worker
 * thread with a replica of the model computes the gradients of its half while
 * this thread computes the other, the two are summed here, and both sides
 * apply the same optimiser update to the same sums, so the replicas stay
 * equal to the bit. tfjs's wasm backend runs one thread (its threaded build
 * does not start under Node), so this is how a single training uses both cores.
 *
 * The loss is the batch's weighted mean over counted pixels; each half
 * contributes its weighted sum divided by the whole batch's weight (computed
 * from the labels before the split), so the summed gradients are the whole
 * batch's (up to float32 rounding: the halves are summed in another order).
 * Group norm only: batch norm's statistics would differ between the halves.
 * Deterministic: the same inputs give the same weights, run after run.
 */
import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { entryModule, startWorker } from '../../../src/stage-api.ts';
import { softmaxCrossEntropyIgnore, IGNORE_LABEL, type LossKind } from './loss.ts';
import type { ModelConfig, SegModel } from './models/index.ts';
import type { Optimizer, OptimizerConfig } from './optimizer.ts';

/** A tensor's values, shape and name, as messages carry them. */
export interface WireTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

export type ToWorker =
  | { type: 'init'; backend: string; config: ModelConfig; optimizer: OptimizerConfig; weights: WireTensor[]; slots: WireTensor[]; iterations: number; trainable: string[] }
  | { type: 'grads'; images: WireTensor; labels: Int32Array; labelShape: number[]; scale: number; classWeights?: number[] }
  | { type: 'apply'; grads: Float32Array[]; lr: number };

export type FromWorker = { type: 'ready' } | { type: 'grads'; loss: number; grads: Float32Array[] } | { type: 'error'; message: string };

/** Sum of the class weights of the counted pixels (labels 0..classes-1; 255 and others are ignored). */
export function labelWeight(labels: Int32Array, classes: number, classWeights?: number[]): number {
  let w = 0;
  for (const l of labels) if (l >= 0 && l < classes && l !== IGNORE_LABEL) w += classWeights ? classWeights[l]! : 1;
  return w;
}

/** The trainable variables of a model, in the model's order (the order gradients travel in). */
export function trainableOf(model: SegModel): { name: string; variable: tf.Variable }[] {
  return [...model.store.params].filter(([, p]) => p.trainable).map(([name, p]) => ({ name, variable: p.variable }));
}

/**
 * Gradients of (weighted loss sum of this half) / (the whole batch's weight), i.e. `scale` times
 * the half's mean loss. Returns the half's share of the loss and the gradients (kept tensors).
 */
export function halfGradients(model: SegModel, images: tf.Tensor4D, labels: tf.Tensor3D, scale: number, classWeights?: number[]): { loss: number; grads: tf.Tensor[] } {
  const vars = trainableOf(model).map((t) => t.variable);
  const updates: { variable: tf.Variable; value: tf.Tensor }[] = [];
  const { value, grads } = tf.variableGrads(() => tf.mul(softmaxCrossEntropyIgnore(model.logits(images, true, updates), labels, classWeights), scale) as tf.Scalar, vars);
  try {
    if (updates.length) throw new Error('data-parallel training supports group norm only (batch norm statistics would differ between the halves)');
    return { loss: value.dataSync()[0]!, grads: vars.map((v) => grads[v.name]!) };
  } finally {
    value.dispose();
    tf.dispose(updates.map((u) => u.value));
  }
}

function wire(name: string, t: tf.Tensor): WireTensor {
  return { name, shape: t.shape, values: t.dataSync() as Float32Array };
}

/** The training step on two cores. Create with {@link DataParallel.start}; `close()` ends the worker. */
export class DataParallel {
  private pending: ((m: FromWorker) => void) | undefined;
  private failed: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly model: SegModel,
    private readonly optimizer: Optimizer,
    private readonly numClasses: number,
  ) {
    worker.on('message', (m: FromWorker) => {
      const p = this.pending;
      this.pending = undefined;
      if (m.type === 'error') this.failed = new Error(`data-parallel worker: ${m.message}`);
      p?.(m);
    });
    worker.on('error', (e) => {
      this.failed = e;
      this.pending?.({ type: 'error', message: e.message });
    });
    worker.on('exit', (code) => {
      this.failed ??= new Error(`data-parallel worker exited (code ${code})`);
      this.pending?.({ type: 'error', message: this.failed.message });
    });
  }

  /** Starts the worker with a replica of `model` (its current weights) and of `optimizer`'s state. */
  static async start(model: SegModel, config: ModelConfig, optimizer: Optimizer, optimizerConfig: OptimizerConfig): Promise<DataParallel> {
    const worker = startWorker(entryModule('stages/lib/tf/data-parallel-worker'), {});
    const dp = new DataParallel(worker, model, optimizer, config.numClasses);
    const weights = Object.entries(model.store.named()).map(([k, t]) => wire(k, t));
    const slots = Object.entries(optimizer.named()).map(([k, t]) => wire(k, t));
    const trainable = trainableOf(model).map((t) => t.name);
    try {
      await dp.request({ type: 'init', backend: tf.getBackend(), config, optimizer: optimizerConfig, weights, slots, iterations: optimizer.iterations, trainable });
    } catch (e) {
      await dp.close();
      throw e;
    }
    return dp;
  }

  private request(m: ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending = (r) => (r.type === 'error' ? reject(this.failed ?? new Error(r.message)) : resolve(r));
      this.worker.postMessage(m, transfer);
    });
  }

  /**
   * One optimisation step on `images` [N, H, W, 3] and `labels` [N, H, W]; returns the batch's loss before the update.
   * Cross-entropy only: it is a weighted mean over pixels, so the halves' gradients add up to the batch's. The
   * Lovász term ranks the errors of the whole batch together, and two halves ranked apart would train another loss.
   */
  async step(images: tf.Tensor4D, labels: tf.Tensor3D, lr: number, classWeights?: number[], lossKind: LossKind = 'crossentropy'): Promise<number> {
    if (lossKind !== 'crossentropy') throw new Error(`data-parallel training supports loss: crossentropy only, not ${lossKind} (its Lovász term ranks the whole batch's errors together)`);
    const n = images.shape[0];
    const mine = Math.ceil(n / 2);
    const labelValues = labels.dataSync() as Int32Array;
    const perImage = labelValues.length / n;
    const total = labelWeight(labelValues, this.numClasses, classWeights);
    const denom = Math.max(total, 1e-12);
    const theirLabels = labelValues.slice(mine * perImage);
    const reply =
      n > mine
        ? this.request({
            type: 'grads',
            images: wire('images', tf.tidy(() => tf.slice(images, [mine, 0, 0, 0], [n - mine, -1, -1, -1]))),
            labels: theirLabels,
            labelShape: [n - mine, ...labels.shape.slice(1)],
            scale: labelWeight(theirLabels, this.numClasses, classWeights) / denom,
            ...(classWeights ? { classWeights } : {}),
          })
        : undefined;
    const [a, b] = tf.tidy(() => [tf.slice(images, [0, 0, 0, 0], [mine, -1, -1, -1]), tf.slice(labels, [0, 0, 0], [mine, -1, -1])]) as [tf.Tensor4D, tf.Tensor3D];
    let own: { loss: number; grads: tf.Tensor[] };
    try {
      own = halfGradients(this.model, a, b, labelWeight(labelValues.subarray(0, mine * perImage), this.numClasses, classWeights) / denom, classWeights);
    } catch (e) {
      reply?.catch(() => {}); // the worker fails the same way; this error is the one to report
      throw e;
    } finally {
      tf.dispose([a, b]);
    }
    const vars = trainableOf(this.model);
    let summed: tf.Tensor[] = own.grads;
    let loss = own.loss;
    try {
      if (reply) {
        const r = await reply;
        if (r.type !== 'grads') throw new Error('data-parallel worker: unexpected reply');
        loss += r.loss;
        summed = tf.tidy(() => own.grads.map((g, i) => tf.add(g, tf.tensor(r.grads[i]!, g.shape))));
        // No reply expected: the worker applies the same update before it reads its next message.
        // Copied, not transferred: on the CPU backend dataSync hands out the tensor's own storage.
        this.worker.postMessage({ type: 'apply', grads: summed.map((g) => g.dataSync() as Float32Array), lr } satisfies ToWorker);
      }
      const named: tf.NamedTensorMap = {};
      vars.forEach((v, i) => (named[v.variable.name] = summed[i]!));
      this.optimizer.apply(this.model.store.params, named, lr);
      return loss;
    } finally {
      tf.dispose(own.grads);
      if (summed !== own.grads) tf.dispose(summed);
    }
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
