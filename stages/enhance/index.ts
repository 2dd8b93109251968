/**
 * `enhance`: an ordered list of image operations (gamma, sharpening, stretch,
 * levels, CLAHE, white balance, red compensation, DCP/UDCP dehazing,
 * backscatter removal) applied to each image, with UIQM and UCIQE of every
 * input and output as metrics. Per image; heavy libraries load lazily.
 */
import path from 'node:path';
import { defineStage, writeFileAtomic, type Json } from '../../src/stage-api.ts';
import { IMAGE_GLOB, splitRel } from '../lib/image/io.ts';
import { enhanceParams, type EnhanceParams } from './schema.ts';

interface QualitySummary {
  input: { uiqm: number; uciqe: number };
  output: { uiqm: number; uciqe: number };
}

export default defineStage<EnhanceParams>({
  name: 'enhance',
  description: 'Apply a list of enhancement operations to each image; UIQM/UCIQE quality metrics',
  kind: 'per-item',
  params: enhanceParams,
  io: (p) => ({ deps: [], outs: [p.out], metrics: [`${p.out}/quality.json`], map: { in: p.images, out: p.out, glob: IMAGE_GLOB } }),
  report: (p) => [
    { images: 'Enhancement', columns: { input: p.images, enhanced: `${p.out}/images` } },
    {
      dataset: 'Image quality',
      file: `${p.out}/quality.json`,
      fields: { images: 'images', 'UIQM of the input': 'inputUiqm', 'UIQM enhanced': 'uiqm', 'UCIQE of the input': 'inputUciqe', 'UCIQE enhanced': 'uciqe' },
    },
  ],
  async processItem(ctx) {
    const [{ loadOpenCv }, { readRgb, writeImage }, { enhance }, { uiqmOf, uciqeOf }, { lab8Of }] = await Promise.all([
      import('../lib/image/opencv.ts'),
      import('../lib/image/io.ts'),
      import('./enhance.ts'),
      import('../lib/image/quality.ts'),
      import('../lib/image/mat.ts'),
    ]);
    const p = ctx.params;
    const [cv, img] = await Promise.all([loadOpenCv(), readRgb(ctx.input, path.posix.join(p.images, ctx.rel))]);
    const out = enhance(cv, img, p.ops);
    const { dir, stem } = splitRel(ctx.rel);
    const ext = p.format === 'png' ? 'png' : 'jpg';
    const writing = writeImage(path.join(ctx.outDir, 'images', dir, `${stem}.${ext}`), out, { format: p.format, quality: p.quality, compressionLevel: p.pngCompression });
    const q = (im: typeof img) => ({ uiqm: round(uiqmOf(im, p.uiqm, p.metricBlock).uiqm), uciqe: round(uciqeOf(im, p.uciqe, p.uciqe === 'jou-uip' ? lab8Of(cv, im) : undefined).uciqe) });
    if (!p.scores) {
      await writing;
      return { summary: null };
    }
    const summary: QualitySummary = { input: q(img), output: q(out) };
    await writing;
    return { summary: summary as unknown as Json };
  },
  async reduce(ctx, items) {
    const rows = items.filter((i) => i.summary && typeof i.summary === 'object') as unknown as { rel: string; summary: QualitySummary }[];
    const mean = (f: (s: QualitySummary) => number) => (rows.length ? round(rows.reduce((a, r) => a + f(r.summary), 0) / rows.length) : 0);
    if (!ctx.params.scores) {
      const metrics = { images: items.length, ops: ctx.params.ops.map((o) => o.op), scores: 'not computed (scores: false)' };
      await writeFileAtomic(ctx.path(`${ctx.params.out}/quality.json`), JSON.stringify(metrics, null, 2) + '\n');
      return;
    }
    const metrics = {
      images: rows.length,
      // which implementation each number comes from (see stages/lib/image/quality.ts)
      variants: { uiqm: ctx.params.uiqm === 'pipe' ? `pipe (block ${ctx.params.metricBlock})` : ctx.params.uiqm, uciqe: ctx.params.uciqe },
      uiqm: mean((s) => s.output.uiqm),
      uciqe: mean((s) => s.output.uciqe),
      inputUiqm: mean((s) => s.input.uiqm),
      inputUciqe: mean((s) => s.input.uciqe),
      ops: ctx.params.ops.map((o) => o.op),
      perImage: Object.fromEntries(rows.map((r) => [r.rel, r.summary.output])),
    };
    await writeFileAtomic(ctx.path(`${ctx.params.out}/quality.json`), JSON.stringify(metrics, null, 2) + '\n');
  },
});

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
