/**
 * `convert`: colour masks (PNG, BMP, JPEG, TIFF, palette PNG; binary 0/255
 * masks with `binary`) to single-channel index PNGs for training, and the
 * class list `classes.json` beside them (which `train` and `evaluate` read),
 * with class balance, COCO instance annotations (as the study needed for
 * Detectron2) and optional train/test lists. Per mask file.
 */
import { defineStage, writeFileAtomic, type Json } from '../../src/stage-api.ts';
import { IMAGE_GLOB } from '../lib/image/io.ts';
import { convertParams, type ConvertParams } from './params.ts';
import type { MaskSummary, SkippedMask } from './convert.ts';

export default defineStage<ConvertParams>({
  name: 'convert',
  description: 'Colour masks to index label PNGs and the class list classes.json (unknown colours -> ignore label), class balance and COCO JSON',
  kind: 'per-item',
  params: convertParams,
  io: (p) => ({
    deps: p.images ? [p.images] : [],
    outs: [p.out],
    metrics: [`${p.out}/classes.json`],
    map: { in: p.masks, out: p.out, glob: IMAGE_GLOB },
  }),
  report: (p) => [
    {
      dataset: 'Class balance',
      file: `${p.out}/classes.json`,
      fields: { 'label files': 'files', 'unknown colours': 'unknownFraction' },
      percent: ['unknown colours'],
      bars: { list: 'classes', name: 'name', value: 'fraction', title: 'share of pixels' },
    },
  ],
  async processItem(ctx) {
    const { convertItem } = await import('./convert.ts');
    const summary = await convertItem(ctx);
    return { summary: summary as unknown as Json };
  },
  async reduce(ctx, items) {
    const path = await import('node:path');
    const { indexImages } = await import('../lib/tf/samples.ts');
    const { checkConversion, classBalance, cocoDocument, splitLists } = await import('./report.ts');
    const p = ctx.params;
    const rows: { rel: string; summary: MaskSummary }[] = [];
    const masksWithoutImage: string[] = [];
    for (const i of items) {
      const s = i.summary as unknown as MaskSummary | SkippedMask | undefined;
      if (!s || typeof s !== 'object') continue;
      if ('skipped' in s) masksWithoutImage.push(i.rel);
      else rows.push({ rel: i.rel, summary: s });
    }
    const paired = new Set(rows.map((r) => r.summary.image?.replace(/\.[^./]*$/, '')));
    const imagesWithoutMask = p.images ? [...(await indexImages({ abs: ctx.path(p.images), name: p.images }, 'image')).keys()].filter((k) => !paired.has(k)) : [];
    const unpaired = { masksWithoutImage, imagesWithoutMask };
    const warnings = checkConversion(p, rows, unpaired);
    for (const w of warnings) ctx.log(`warning: ${w}`);
    const out = (name: string) => ctx.path(path.posix.join(p.out, name));
    await writeFileAtomic(out('classes.json'), JSON.stringify(classBalance(p, rows, unpaired, warnings), null, 2) + '\n');
    if (p.coco) await writeFileAtomic(out('coco.json'), JSON.stringify(cocoDocument(p, rows)) + '\n');
    if (p.testFraction > 0) {
      const lists = splitLists(rows, p.testFraction);
      await writeFileAtomic(out('train.txt'), lists.train);
      await writeFileAtomic(out('test.txt'), lists.test);
    }
  },
});
