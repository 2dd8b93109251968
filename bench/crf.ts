/**
 * What the CRF adds to an evaluation: per 128x128 image, the default model's inference (two mirrored passes,
 * as the default pipeline evaluates, wasm backend, one thread) and the CRF's refinement (`evaluate`'s
 * `crf: true`), in one process, alternated, after a warm-up of each. Mean ms over 20 images, three rounds.
 *   node --import tsx bench/crf.ts [size=128]   (= npm run bench -- crf)
 */
import * as tf from '@tensorflow/tfjs-core';
import { crfClasses, crfParamsSchema } from '../stages/lib/tf/crf.ts';
import { prodSetup } from './prod-model.ts';
import { initBackends } from './train-step-backends.ts';
import { trainParams } from '../stages/train/params.ts';

const size = Number(process.argv[2] ?? 128);
await initBackends();
await tf.setBackend('wasm');
const p = trainParams.parse({ images: '-', labels: '-', list: '-', out: '-', decoderStride: 2, loss: 'crossentropy+lovasz', batch: 1, crop: size });
const s = prodSetup(size, 1, p);
const crf = crfParamsSchema.parse({});
// A real image's colours are not needed for the timing: the work per pixel pair is the same for any colours.
const rgb = Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * 2654435761) >>> 24);
const C = s.config.numClasses;
let logits: Float32Array = new Float32Array(0);
const infer = (): void => {
  const z = tf.tidy(() => s.model.scores(s.images, { flip: true }));
  logits = z.dataSync() as Float32Array;
  z.dispose();
};
const refine = (): void => void crfClasses(logits, rgb, size, size, C, crf);
const time = (f: () => void, n: number): number => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  return (performance.now() - t0) / n;
};
time(infer, 5);
time(refine, 5);
for (let r = 0; r < 3; r++) {
  const a = time(infer, 20);
  const b = time(refine, 20);
  console.log(`round ${r + 1}: ${size}x${size} inference (2 passes) ${a.toFixed(1)} ms/image, CRF ${b.toFixed(1)} ms/image (${(b / a).toFixed(2)}x the inference)`);
}
s.dispose();
