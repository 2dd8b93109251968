/**
 * Segmentation scores from a confusion matrix (rows = ground truth, columns =
 * prediction), in plain TypeScript so they can be checked by hand. Pixels
 * whose label is the ignore value (255) or outside 0..C-1 are not counted.
 */

/** A C x C confusion matrix, row-major: `counts[gt * C + pred]`. */
export interface Confusion {
  classes: number;
  counts: Float64Array;
}

export function emptyConfusion(classes: number): Confusion {
  return { classes, counts: new Float64Array(classes * classes) };
}

/** Adds one image (or batch) of labels and predictions, same length, to `cm`. */
export function accumulate(cm: Confusion, labels: ArrayLike<number>, preds: ArrayLike<number>, ignore = 255): void {
  if (labels.length !== preds.length) throw new Error(`accumulate: ${labels.length} labels vs ${preds.length} predictions`);
  const C = cm.classes;
  for (let i = 0; i < labels.length; i++) {
    const g = labels[i]!;
    if (g === ignore || g < 0 || g >= C) continue;
    const p = preds[i]!;
    if (p < 0 || p >= C) continue;
    cm.counts[g * C + p]! += 1;
  }
}

export interface SegmentationScores {
  /** IoU per class; null when the class is absent from both ground truth and prediction. */
  iou: (number | null)[];
  /** Mean over classes with a defined IoU. */
  meanIoU: number;
  pixelAccuracy: number;
  /** Sum over classes of (ground-truth frequency x IoU). */
  frequencyWeightedIoU: number;
  /** Per-class recall (correct / ground-truth pixels); null when the class has no pixels. */
  classAccuracy: (number | null)[];
  pixels: number;
}

export function scores(cm: Confusion): SegmentationScores {
  const C = cm.classes;
  const row = new Float64Array(C);
  const col = new Float64Array(C);
  let total = 0;
  let correct = 0;
  for (let g = 0; g < C; g++) {
    for (let p = 0; p < C; p++) {
      const n = cm.counts[g * C + p]!;
      row[g]! += n;
      col[p]! += n;
      total += n;
      if (g === p) correct += n;
    }
  }
  const iou: (number | null)[] = [];
  const classAccuracy: (number | null)[] = [];
  let sum = 0;
  let defined = 0;
  let fw = 0;
  for (let c = 0; c < C; c++) {
    const tp = cm.counts[c * C + c]!;
    const union = row[c]! + col[c]! - tp;
    const v = union > 0 ? tp / union : null;
    iou.push(v);
    classAccuracy.push(row[c]! > 0 ? tp / row[c]! : null);
    if (v !== null) {
      sum += v;
      defined++;
      if (total > 0) fw += (row[c]! / total) * v;
    }
  }
  return {
    iou,
    meanIoU: defined > 0 ? sum / defined : 0,
    pixelAccuracy: total > 0 ? correct / total : 0,
    frequencyWeightedIoU: fw,
    classAccuracy,
    pixels: total,
  };
}

/** The matrix as nested arrays (rows = ground truth), for JSON. */
export function confusionRows(cm: Confusion): number[][] {
  const C = cm.classes;
  return Array.from({ length: C }, (_, g) => Array.from(cm.counts.subarray(g * C, g * C + C)));
}
