/**
 * `train`: trains a DeepLab segmentation model (v3+ on MobileNetV2, or v1
 * LargeFOV) with TensorFlow.js. Cheap to import: tfjs loads inside run().
 */
import { defineStage } from '../../src/stage-api.ts';
import { modelFiles } from '../lib/tf/model-files.ts';
import { isBackboneFolder, trainParams, type TrainParams } from './params.ts';

export default defineStage<TrainParams>({
  name: 'train',
  kind: 'whole',
  description: 'Train a DeepLab (v3+ MobileNetV2 or v1 LargeFOV) segmentation model with TensorFlow.js',
  params: trainParams,
  io: (p) => ({
    deps: [p.images, p.labels, ...(p.list ? [p.list] : []), ...(p.init ? modelFiles(p.init) : []), ...(isBackboneFolder(p.backbone) ? [p.backbone] : [])],
    outs: [p.out],
    metrics: [`${p.out}/train.json`],
  }),
  // One thread: the wasm backend (and tfjs-node, given TF_NUM_INTRAOP_THREADS
  // from the grant) runs on one, so without a GPU two trainings share a 2-core machine.
  resources: () => ({ gpu: 1, cpu: 1 }),
  report: (p) => [{ curve: 'Training curves', file: `${p.out}/curve.csv`, x: 'step', y: { loss: 'loss', 'learning rate': 'lr' } }],
  async run(ctx) {
    const { runTraining } = await import('./run.ts');
    await runTraining(ctx);
  },
});
