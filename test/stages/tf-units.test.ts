import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../stages/lib/tf/backend.ts';
import { augmentedCrop, batchIndices, parseSplitList, stepRng } from '../../stages/lib/tf/data.ts';
import { softmaxCrossEntropyIgnore } from '../../stages/lib/tf/loss.ts';
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
