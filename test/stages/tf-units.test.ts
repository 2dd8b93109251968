import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../stages/lib/tf/backend.ts';
import { augmentedCrop, batchIndices, parseSplitList, stepRng } from '../../stages/lib/tf/data.ts';
import { lovaszSoftmaxLoss, lovaszWeights, segmentationLoss, softmaxCrossEntropyIgnore } from '../../stages/lib/tf/loss.ts';
import { accumulate, confusionRows, emptyConfusion, scores } from '../../stages/lib/tf/metrics.ts';
import { Rng } from '../../stages/lib/tf/rng.ts';
import { polyLearningRate } from '../../stages/lib/tf/schedule.ts';

beforeAll(async () => {
  expect((await selectBackend('cpu', { training: false })).ok).toBe(true);
});

describe('softmax cross-entropy with ignore label', () => {
  // 1 image, 1x3 pixels, 2 classes. logits per pixel and labels [0, 1, 255].
  const logits = [
    [2, 0],
    [0, 1],
    [5, -5],
  ];
  const ce = (l: number[], c: number): number => -(l[c]! - Math.log(Math.exp(l[0]!) + Math.exp(l[1]!)));

  it('averages over counted pixels only', () => {
    const got = softmaxCrossEntropyIgnore(tf.tensor4d(logits.flat(), [1, 1, 3, 2]), tf.tensor3d([[[0, 1, 255]]], [1, 1, 3], 'int32'));
    const want = (ce(logits[0]!, 0) + ce(logits[1]!, 1)) / 2;
    expect(got.dataSync()[0]).toBeCloseTo(want, 5);
  });

  it('weights pixels by the class weight of their label', () => {
    const got = softmaxCrossEntropyIgnore(tf.tensor4d(logits.flat(), [1, 1, 3, 2]), tf.tensor3d([[[0, 1, 255]]], [1, 1, 3], 'int32'), [1, 3]);
    const want = (1 * ce(logits[0]!, 0) + 3 * ce(logits[1]!, 1)) / 4;
    expect(got.dataSync()[0]).toBeCloseTo(want, 5);
  });

  it('is 0, not NaN, when every pixel is ignored', () => {
    const got = softmaxCrossEntropyIgnore(tf.tensor4d(logits.flat(), [1, 1, 3, 2]), tf.tensor3d([[[255, 255, 255]]], [1, 1, 3], 'int32'));
    expect(got.dataSync()[0]).toBe(0);
  });
});

describe('the Lovász-softmax loss', () => {
  // 2 images of 3x3 pixels, 3 classes; a few pixels ignored (255); class 2 absent from the labels.
  // Made in the tests: the backend is chosen in beforeAll.
  let labels: tf.Tensor3D;
  let logits: tf.Tensor4D;
  beforeAll(() => {
    labels = tf.tensor3d([0, 0, 1, 1, 255, 0, 1, 1, 0, 0, 1, 255, 0, 0, 1, 1, 1, 0], [2, 3, 3], 'int32');
    logits = tf.tensor4d(
      Array.from({ length: 54 }, (_, i) => Math.sin(i * 1.7) * 2),
      [2, 3, 3, 3],
    );
  });
  const losses = { lovasz: lovaszSoftmaxLoss };

  for (const [name, f] of Object.entries(losses)) {
    it(`${name}: its gradient matches finite differences, and is 0 at ignored pixels`, async () => {
      const g = await tf.grad((x: tf.Tensor) => f(x as tf.Tensor4D, labels))(logits).data();
      const base = await logits.data();
      const at = (delta: number, i: number): number => {
        const a = Float32Array.from(base);
        a[i] = a[i]! + delta;
        return f(tf.tensor4d(a, logits.shape), labels).dataSync()[0]!;
      };
      for (let i = 0; i < 54; i++) {
        const pixel = Math.floor(i / 3);
        if (pixel === 4 || pixel === 11) expect(g[i]).toBe(0);
        else expect(g[i]).toBeCloseTo((at(1e-3, i) - at(-1e-3, i)) / 2e-3, 3);
      }
    });

    it(`${name}: is near 0 for a confident right answer, near 1 for a confident wrong one; ignores absent classes`, () => {
      const lab = labels.dataSync();
      const oneHot = (shift: number) =>
        tf.tensor4d(Array.from(lab).flatMap((l) => [0, 1, 2].map((c) => (l !== 255 && c === (l + shift) % 3 ? 20 : 0))), [2, 3, 3, 3]);
      expect(f(oneHot(0), labels).dataSync()[0]).toBeLessThan(1e-6);
      // Every pixel called the next class: IoU 0 for both present classes (class 2's absence is not scored).
      expect(f(oneHot(1), labels).dataSync()[0]).toBeGreaterThan(0.99);
    });
  }

  it('the Lovász loss equals 1 - IoU when the probabilities are hard 0/1', () => {
    // Class 0: truth on pixels 0-3, predicted on 0, 1, 2 and 5: IoU 3/5. Class 1: truth on 4 and 5, predicted
    // on 3 and 4: IoU 1/3. The mean of 1 - IoU over the two classes: (2/5 + 2/3) / 2 = 8/15.
    const lab = tf.tensor3d([0, 0, 0, 0, 1, 1], [1, 1, 6], 'int32');
    const pred = [0, 0, 0, 1, 1, 0];
    const hard = tf.tensor4d(pred.flatMap((c) => [0, 1].map((k) => (k === c ? 30 : -30))), [1, 1, 6, 2]);
    expect(lovaszSoftmaxLoss(hard, lab).dataSync()[0]).toBeCloseTo(8 / 15, 4);
  });

  it('sorts many pixels as a plain comparison sort would (the weights of a naive implementation)', () => {
    const rng = new Rng(5);
    const P = 5000;
    const C = 2;
    const errors = new Float32Array(P * C);
    const truth = new Float32Array(P * C);
    for (let i = 0; i < P; i++) {
      const y = rng.next() < 0.3 ? 1 : 0;
      truth[i * C + y] = 1;
      // Some ties (rounded errors) and some ignored pixels (-1).
      for (let c = 0; c < C; c++) errors[i * C + c] = i % 97 === 0 ? -1 : Math.round(rng.next() * 4000) / 4000;
    }
    let want = 0;
    const wantGrad = new Float64Array(P * C);
    for (let c = 0; c < C; c++) {
      const idx = [...Array(P).keys()].filter((i) => errors[i * C + c]! >= 0);
      idx.sort((a, b) => errors[b * C + c]! - errors[a * C + c]! || b - a);
      const pos = idx.reduce((n, i) => n + truth[i * C + c]!, 0);
      let cp = 0;
      let cn = 0;
      let prev = 0;
      for (const i of idx) {
        cp += truth[i * C + c]!;
        cn += 1 - truth[i * C + c]!;
        const jac = 1 - (pos - cp) / (pos + cn);
        wantGrad[i * C + c] = (jac - prev) / C;
        want += (errors[i * C + c]! * (jac - prev)) / C;
        prev = jac;
      }
    }
    const got = lovaszWeights(errors, truth, C);
    expect(got.value).toBeCloseTo(want, 9);
    for (let i = 0; i < P * C; i++) expect(got.grad[i]).toBeCloseTo(wantGrad[i]!, 6);
  });

  it('segmentationLoss adds it to cross-entropy', () => {
    const ce = softmaxCrossEntropyIgnore(logits, labels).dataSync()[0]!;
    expect(segmentationLoss('crossentropy', logits, labels).dataSync()[0]).toBeCloseTo(ce, 6);
    expect(segmentationLoss('crossentropy+lovasz', logits, labels).dataSync()[0]).toBeCloseTo(ce + lovaszSoftmaxLoss(logits, labels).dataSync()[0]!, 5);
  });
});

describe('poly learning rate', () => {
  it('follows base * (1 - step/steps)^0.9', () => {
    expect(polyLearningRate(0.01, 0, 100)).toBe(0.01);
    expect(polyLearningRate(0.01, 50, 100)).toBeCloseTo(0.01 * Math.pow(0.5, 0.9), 12);
    expect(polyLearningRate(0.01, 100, 100)).toBe(0);
    expect(polyLearningRate(1, 30, 40, 2)).toBeCloseTo(0.0625, 12);
  });
});

describe('segmentation metrics', () => {
  it('match a hand-computed confusion matrix, skipping 255', () => {
    const labels = [0, 0, 0, 1, 1, 2, 2, 2, 255, 255];
    const preds = [0, 0, 1, 1, 2, 2, 2, 0, 1, 2];
    const cm = emptyConfusion(3);
    accumulate(cm, labels, preds);
    expect(confusionRows(cm)).toEqual([
      [2, 1, 0],
      [0, 1, 1],
      [1, 0, 2],
    ]);
    const s = scores(cm);
    // IoU = tp / (row + col - tp): class0 2/(3+3-2), class1 1/(2+2-1), class2 2/(3+3-2).
    expect(s.iou[0]).toBeCloseTo(0.5, 12);
    expect(s.iou[1]).toBeCloseTo(1 / 3, 12);
    expect(s.iou[2]).toBeCloseTo(0.5, 12);
    expect(s.meanIoU).toBeCloseTo((0.5 + 1 / 3 + 0.5) / 3, 12);
    expect(s.pixelAccuracy).toBeCloseTo(5 / 8, 12);
    expect(s.frequencyWeightedIoU).toBeCloseTo((3 / 8) * 0.5 + (2 / 8) * (1 / 3) + (3 / 8) * 0.5, 12);
    expect(s.pixels).toBe(8);
  });

  it('leaves a class absent from both truth and prediction out of the mean', () => {
    const cm = emptyConfusion(3);
    accumulate(cm, [0, 0, 1, 1], [0, 1, 1, 1]);
    const s = scores(cm);
    expect(s.iou[2]).toBeNull();
    expect(s.meanIoU).toBeCloseTo((1 / 2 + 2 / 3) / 2, 12);
  });
});

describe('data', () => {
  it('parses split lists by the stem of the first path', () => {
    expect(parseSplitList('images/a.jpg masks/a.png\n\n# note\r\nimages/b.c.jpg masks/b.c.png\nc.png\n')).toEqual(['a', 'b.c', 'c']);
  });

  it('shuffles every epoch and visits each sample once per epoch', () => {
    const n = 5;
    const seen = [0, 1, 2, 3, 4].flatMap((s) => batchIndices(3, s, 2, n)).slice(0, n);
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(batchIndices(3, 7, 2, n)).toEqual(batchIndices(3, 7, 2, n));
    expect(batchIndices(3, 0, 5, n)).not.toEqual(batchIndices(4, 0, 5, n));
  });

  it('crops with ignore padding outside the scaled image, reproducibly', () => {
    const W = 4;
    const H = 3;
    const image = { width: W, height: H, channels: 3, data: new Uint8Array(W * H * 3).fill(255) };
    const label = { width: W, height: H, channels: 1, data: new Uint8Array(W * H).fill(1) };
    const s = { stem: 'x', image, label };
    const a = augmentedCrop(s, { crop: 8, scaleMin: 1, scaleMax: 1, mirror: false }, stepRng(1, 0));
    // Scale 1: the 4x3 image sits at the top left of the 8x8 crop.
    expect(a.label[0]).toBe(1);
    expect(a.label[3]).toBe(1);
    expect(a.label[4]).toBe(255);
    expect(a.label[3 * 8]).toBe(255);
    expect(a.image[0]).toBeCloseTo(1, 6);
    expect(a.image[4 * 3]).toBe(0);
    const b = augmentedCrop(s, { crop: 8, scaleMin: 0.5, scaleMax: 2, mirror: true }, stepRng(1, 5));
    const c = augmentedCrop(s, { crop: 8, scaleMin: 0.5, scaleMax: 2, mirror: true }, stepRng(1, 5));
    expect(Array.from(b.label)).toEqual(Array.from(c.label));
  });

  it('raises a scale below crop/size so the image always fills the crop (no wasted ignore pixels)', () => {
    const N = 16;
    const image = { width: N, height: N, channels: 3, data: new Uint8Array(N * N * 3).fill(200) };
    const label = { width: N, height: N, channels: 1, data: new Uint8Array(N * N).fill(2) };
    const s = { stem: 'x', image, label };
    for (let step = 0; step < 40; step++) {
      const a = augmentedCrop(s, { crop: N, scaleMin: 0.5, scaleMax: 1.5, mirror: true }, stepRng(3, step));
      expect(a.label.every((v) => v === 2)).toBe(true);
    }
    // A crop smaller than the image allows scales down to crop/size: still filled.
    for (let step = 0; step < 40; step++) {
      const a = augmentedCrop(s, { crop: 12, scaleMin: 0.5, scaleMax: 1.5, mirror: true }, stepRng(4, step));
      expect(a.label.every((v) => v === 2)).toBe(true);
    }
  });

  it('seeded generator repeats and differs by seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(new Rng(43).next()).not.toBe(xs[0]);
  });
});
