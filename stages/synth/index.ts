/**
 * Built-in `synth` stage: renders the default data set — underwater pipes
 * and valves under bright light and in the dark with green laser lines —
 * with VOC colour masks and split lists, deterministic by seed. Importing
 * this module is cheap: the renderer, the worker pool and sharp load in run().
 */
import { defineStage } from '../../src/stage-api.ts';
import { synthParams, type SynthParams } from './params.ts';

export default defineStage<SynthParams>({
  kind: 'whole',
  name: 'synth',
  description:
    'Render a synthetic underwater valve-and-pipe data set (bright and dark with laser lines): ' +
    '<out>/<condition>/{images/*.jpg, masks/*.png, train.txt, val.txt, test.txt}, stats.json and preview.png.',
  params: synthParams,
  io: (p) => ({ deps: [], outs: [p.out], metrics: [`${p.out}/stats.json`] }),
  // Scenes render in parallel: as many workers as CPU slots granted.
  resources: () => ({ cpu: 2 }),
  report: (p) => [
    {
      dataset: 'Rendered data set',
      ...(p.preview > 0 ? { image: `${p.out}/preview.png` } : {}),
      file: `${p.out}/stats.json`,
      fields: Object.fromEntries(
        p.conditions.flatMap((c) => [
          [`${c}: images`, `${c}.images`],
          [`${c}: mean brightness`, `${c}.meanBrightness`],
          [`${c}: RMS contrast`, `${c}.rmsContrast`],
          [`${c}: laser pixels`, `${c}.laserPixelShare`],
          [`${c}: valve pixels`, `${c}.valveShare`],
          [`${c}: pipe pixels`, `${c}.pipeShare`],
        ]),
      ),
      percent: p.conditions.flatMap((c) => [`${c}: laser pixels`, `${c}: valve pixels`, `${c}: pipe pixels`]),
    },
  ],
  async run(ctx) {
    const { generate } = await import('./generate.ts');
    await generate(ctx);
  },
});
