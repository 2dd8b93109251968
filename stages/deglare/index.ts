/**
 * `deglare`: removes the bright laser lines and highlights from each image
 * (the study's highlight removal, with better detectors and inpainting beside
 * it) and saves the glare masks for inspection. Per image; heavy libraries
 * load lazily so importing this module is cheap.
 */
import path from 'node:path';
import { defineStage, writeFileAtomic, type Json } from '../../src/stage-api.ts';
import { IMAGE_GLOB, splitRel } from '../lib/image/io.ts';
import { deglareParams, type DeglareParams } from './params.ts';

interface GlareSummary {
  fraction: number;
  rawFraction: number;
  threshold: number;
  width: number;
  height: number;
}

export default defineStage<DeglareParams>({
  name: 'deglare',
  description: 'Remove laser lines and highlights: threshold, dilate, inpaint, blur; saves the glare masks',
  kind: 'per-item',
  params: deglareParams,
  io: (p) => ({ deps: [], outs: [p.out], metrics: [`${p.out}/glare.json`], map: { in: p.images, out: p.out, glob: IMAGE_GLOB } }),
  report: (p) => [
    { images: 'Glare removal', columns: { input: p.images, 'glare mask': `${p.out}/glare`, deglared: `${p.out}/images` } },
    {
      dataset: 'Glare',
      file: `${p.out}/glare.json`,
      fields: { images: 'images', 'mean glare share': 'meanGlareFraction', 'largest glare share': 'maxGlareFraction' },
      percent: ['mean glare share', 'largest glare share'],
    },
  ],
  async processItem(ctx) {
    const [{ loadOpenCv }, { readRgb, writeImage }, { deglare }] = await Promise.all([
      import('../lib/image/opencv.ts'),
      import('../lib/image/io.ts'),
      import('./deglare.ts'),
    ]);
    const p = ctx.params;
    const [cv, img] = await Promise.all([loadOpenCv(), readRgb(ctx.input, path.posix.join(p.images, ctx.rel))]);
    const r = deglare(cv, img, p);
    const { dir, stem } = splitRel(ctx.rel);
    const ext = p.format === 'png' ? 'png' : 'jpg';
    await Promise.all([
      writeImage(path.join(ctx.outDir, 'images', dir, `${stem}.${ext}`), r.image, { format: p.format, quality: p.quality, compressionLevel: p.pngCompression }),
      writeImage(path.join(ctx.outDir, 'glare', dir, `${stem}.png`), r.mask, { format: 'png', compressionLevel: p.pngCompression }),
    ]);
    const summary: GlareSummary = { fraction: r.fraction, rawFraction: r.rawFraction, threshold: r.threshold, width: img.width, height: img.height };
    return { summary: summary as unknown as Json };
  },
  async reduce(ctx, items) {
    const rows = items.filter((i) => i.summary && typeof i.summary === 'object') as { rel: string; summary: GlareSummary & Json }[];
    const mean = (f: (s: GlareSummary) => number) => (rows.length ? rows.reduce((a, r) => a + f(r.summary), 0) / rows.length : 0);
    const metrics = {
      images: rows.length,
      meanGlareFraction: mean((s) => s.fraction),
      meanRawGlareFraction: mean((s) => s.rawFraction),
      maxGlareFraction: rows.reduce((a, r) => Math.max(a, r.summary.fraction), 0),
      perImage: Object.fromEntries(rows.map((r) => [r.rel, round(r.summary.fraction)])),
    };
    await writeFileAtomic(ctx.path(`${ctx.params.out}/glare.json`), JSON.stringify(metrics, null, 2) + '\n');
  },
});

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
