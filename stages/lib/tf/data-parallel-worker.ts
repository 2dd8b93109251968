/**
 * The worker side of stages/lib/tf/data-parallel.ts: a replica of the model
 * and optimiser; computes the gradients of its half of each batch and applies
 * the summed gradients it is sent.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendName } from './backend.ts';
import { halfGradients, trainableOf, type FromWorker, type ToWorker } from './data-parallel.ts';
import { buildModel, type SegModel } from './models/index.ts';
import { Optimizer } from './optimizer.ts';

const port = parentPort!;
let model: SegModel | undefined;
let optimizer: Optimizer | undefined;

function reply(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'init': {
      const r = await selectBackend(m.backend as BackendName, { training: true });
      if (!r.ok) throw new Error(r.error.message);
      const initial: tf.NamedTensorMap = {};
      for (const w of m.weights) initial[w.name] = tf.tensor(w.values, w.shape);
      model = buildModel(m.config, { weights: initial, normUpdates: 0 });
      tf.dispose(Object.values(initial));
      const trainable = new Set(m.trainable);
      for (const [name, p] of model.store.params) p.trainable = trainable.has(name);
      optimizer = new Optimizer(m.optimizer);
      const slots: tf.NamedTensorMap = {};
      for (const s of m.slots) slots[s.name] = tf.tensor(s.values, s.shape);
      optimizer.restore(slots, m.iterations);
      tf.dispose(Object.values(slots));
      reply({ type: 'ready' });
      return;
    }
    case 'grads': {
      if (!model) throw new Error('not initialised');
      const images = tf.tensor4d(m.images.values, m.images.shape as [number, number, number, number]);
      const labels = tf.tensor3d(m.labels, m.labelShape as [number, number, number], 'int32');
      try {
        const { loss, grads } = halfGradients(model, images, labels, m.scale, m.classWeights);
        const values = grads.map((g) => g.dataSync() as Float32Array);
        // Disposed before the buffers are transferred (on the CPU backend they are the tensors' own storage).
        tf.dispose(grads);
        reply({ type: 'grads', loss, grads: values }, values.map((v) => v.buffer as ArrayBuffer));
      } finally {
        tf.dispose([images, labels]);
      }
      return;
    }
    case 'apply': {
      if (!model || !optimizer) throw new Error('not initialised');
      const named: tf.NamedTensorMap = {};
      const vars = trainableOf(model);
      vars.forEach((v, i) => (named[v.variable.name] = tf.tensor(m.grads[i]!, v.variable.shape)));
      try {
        optimizer.apply(model.store.params, named, m.lr);
      } finally {
        tf.dispose(Object.values(named));
      }
      return;
    }
  }
}

// Messages are handled strictly in order (an update before the next step's gradients).
let queue = Promise.resolve();
port.on('message', (m: ToWorker) => {
  queue = queue.then(() => handle(m)).catch((e: Error) => reply({ type: 'error', message: e.stack ?? e.message }));
});
