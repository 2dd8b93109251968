/**
 * `convert`: RGB colour masks (PNG, BMP, JPEG, TIFF, palette PNG) to
 * single-channel index PNGs for training, with class-balance metrics and COCO
 * instance annotations (as the study needed for Detectron2). Per mask file.
 */
import { defineStage, writeFileAtomic, type Json } from '../../src/stage-api.ts';
import { IMAGE_GLOB } from '../lib/image/io.ts';
import { convertParams, type ConvertParams } from './params.ts';
import type { MaskSummary } from './convert.ts';

export default defineStage<ConvertParams>({
  name: 'convert',
  description: 'Colour masks to index label PNGs (unknown colours -> ignore label), class balance and COCO JSON',
  kind: 'per-item',
  params: convertParams,
  io: (p) => ({
    deps: p.images ? [p.images] : [],
    outs: [p.out],
    metrics: [`${p.out}/classes.json`],
    map: { in: p.masks, out: p.out, glob: IMAGE_GLOB },
  }),
  async processItem(ctx) {
    const { convertItem } = await import('./convert.ts');
    const summary = await convertItem(ctx);
    return { summary: summary as unknown as Json };
  },
  async reduce(ctx, items) {
    const { classBalance, cocoDocument } = await import('./report.ts');
    const rows = items.filter((i) => i.summary && typeof i.summary === 'object') as unknown as { rel: string; summary: MaskSummary }[];
    const p = ctx.params;
    await writeFileAtomic(ctx.path(`${p.out}/classes.json`), JSON.stringify(classBalance(p, rows), null, 2) + '\n');
    if (p.coco) await writeFileAtomic(ctx.path(`${p.out}/coco.json`), JSON.stringify(cocoDocument(p, rows)) + '\n');
  },
});

