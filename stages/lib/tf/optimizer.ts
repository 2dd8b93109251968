/**
 * The study's optimiser, written out so per-variable learning-rate
 * multipliers and weight decay are explicit and its state can be
 * checkpointed exactly: SGD with momentum (TensorFlow's form:
 * accum = m * accum + g; w -= lr * mult * accum), or Adam. L2 weight decay
 * (the study's 5e-4 * sum(w^2) / 2) enters as wd * w added to the gradient
 * of kernels only.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamInfo } from './models/layers.ts';
import { adamStep, sgdMomentumStep } from '../tf-kernels/index.ts';

export interface OptimizerConfig {
  kind: 'sgd' | 'adam';
  momentum: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Prefix of optimiser slot names in a checkpoint's weights. */
export const SLOT_PREFIX = 'opt/';

export class Optimizer {
  private readonly slots = new Map<string, tf.Variable[]>();
  /** Updates applied so far (Adam's bias correction). */
  iterations = 0;

  constructor(private readonly cfg: OptimizerConfig) {}

  private slotsFor(name: string, p: ParamInfo): tf.Variable[] {
    let s = this.slots.get(name);
    if (!s) {
      const n = this.cfg.kind === 'adam' ? 2 : 1;
      s = Array.from({ length: n }, () => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
      this.slots.set(name, s);
    }
    return s;
  }

  /** Applies one update with base learning rate `lr` to every parameter that has a gradient. */
  apply(params: Map<string, ParamInfo>, grads: tf.NamedTensorMap, lr: number): void {
    this.iterations++;
    const t = this.iterations;
    for (const [name, p] of params) {
      const g0 = grads[p.variable.name];
      if (!g0) continue;
      const slots = this.slotsFor(name, p);
      tf.tidy(() => {
        const rate = lr * p.lrMult;
        const decay = p.decay && this.cfg.weightDecay > 0;
        // The decayed gradient g + wd * w, for the composed updates below.
        const decayed = () => (decay ? tf.add(g0, tf.mul(p.variable, this.cfg.weightDecay)) : g0);
        if (this.cfg.kind === 'sgd') {
          // One kernel where the backend has it (stages/lib/tf-kernels), bit-equal to the ops below.
          const fused = sgdMomentumStep(p.variable, slots[0]!, g0, { momentum: this.cfg.momentum, weightDecay: this.cfg.weightDecay, rate, decay });
          if (fused) {
            slots[0]!.assign(fused.acc);
            p.variable.assign(fused.w);
            return;
          }
          const acc = slots[0]!;
          acc.assign(tf.add(tf.mul(acc, this.cfg.momentum), decayed()));
          p.variable.assign(tf.sub(p.variable, tf.mul(acc, rate)));
        } else {
          const [m, v] = slots as [tf.Variable, tf.Variable];
          const { beta1: b1, beta2: b2, epsilon } = this.cfg;
          const step = (rate * Math.sqrt(1 - Math.pow(b2, t))) / (1 - Math.pow(b1, t));
          // One kernel where the backend has it (stages/lib/tf-kernels), bit-equal to the ops below.
          const fused = adamStep(p.variable, m, v, g0, { beta1: b1, beta2: b2, epsilon, weightDecay: this.cfg.weightDecay, step, decay });
          if (fused) {
            m.assign(fused.m);
            v.assign(fused.v);
            p.variable.assign(fused.w);
            return;
          }
          const g = decayed();
          m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
          v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
          p.variable.assign(tf.sub(p.variable, tf.div(tf.mul(m, step), tf.add(tf.sqrt(v), epsilon))));
        }
      });
    }
  }

  /** Slot tensors by checkpoint name (`opt/<param>/<i>`). */
  named(): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = {};
    for (const [name, s] of this.slots) s.forEach((v, i) => (out[`${SLOT_PREFIX}${name}/${i}`] = v));
    return out;
  }

  /** Restores slots saved by `named` (copies; the caller keeps ownership of `saved`). */
  restore(saved: tf.NamedTensorMap, iterations: number): void {
    this.iterations = iterations;
    for (const [key, t] of Object.entries(saved)) {
      if (!key.startsWith(SLOT_PREFIX)) continue;
      const rest = key.slice(SLOT_PREFIX.length);
      const cut = rest.lastIndexOf('/');
      const name = rest.slice(0, cut);
      const i = Number(rest.slice(cut + 1));
      const s = this.slots.get(name) ?? [];
      s[i] = tf.tidy(() => tf.variable(t.clone(), false));
      this.slots.set(name, s);
    }
  }

  dispose(): void {
    for (const s of this.slots.values()) s.forEach((v) => v.dispose());
    this.slots.clear();
  }
}
