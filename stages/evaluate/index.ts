/**
 * `evaluate`: predicts a split at full image size with a trained model and
 * scores it (confusion matrix, IoU per class, mean IoU, pixel accuracy,
 * frequency-weighted IoU); writes palette PNG predictions and overlays.
 * Cheap to import: tfjs loads inside run().
 */
import { defineStage } from '../../src/stage-api.ts';
import { modelFiles } from '../lib/tf/model-files.ts';
import { evaluateParams, type EvaluateParams } from './params.ts';

export default defineStage<EvaluateParams>({
  name: 'evaluate',
  kind: 'whole',
  description: 'Score a trained segmentation model on a split: IoU per class, mean IoU, accuracy; prediction PNGs and overlays',
  params: evaluateParams,
  // The model's own files, not the whole folder: train's curve and timings beside them differ on every run.
  io: (p) => ({ deps: [...modelFiles(p.model), p.images, p.labels, ...(p.list ? [p.list] : [])], outs: [p.out], metrics: [`${p.out}/metrics.json`] }),
  // One thread, like train: without a GPU, evaluations run side by side, one per core.
  resources: () => ({ gpu: 1, cpu: 1 }),
  report: (p) => [
    {
      table: 'Segmentation scores',
      file: `${p.out}/metrics.json`,
      row: { model: p.model, 'test images': p.images },
      columns: [
        { label: 'mIoU', key: 'meanIoU', format: 'percent', best: 'max' },
        // classAccuracy is null for a class with no pixels in the test set: "absent", not 0.
        { label: 'IoU *', key: 'iou.*', format: 'percent', best: 'max', absentIf: 'classAccuracy.*', chart: true },
      ],
      // Scores on different test sets do not compare: the best mark is per test set.
      bestWithin: ['test images'],
    },
    {
      images: 'Predictions',
      columns: { image: p.images, 'ground truth': `${p.out}/truth`, prediction: `${p.out}/pred`, errors: `${p.out}/errors` },
      from: 'errors',
      captions: `${p.out}/samples.json`,
    },
  ],
  async run(ctx) {
    const { runEvaluation } = await import('./run.ts');
    await runEvaluation(ctx);
  },
});
