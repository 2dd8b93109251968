/** The aggregate outputs of `convert`: class balance metrics and the COCO document. */
import type { MaskSummary } from './convert.ts';
import { isBackground } from './convert.ts';
import type { ConvertParams } from './params.ts';

type Row = { rel: string; summary: MaskSummary };

/** Per-class pixel counts and fractions, and unknown pixels in total and per file. */
export function classBalance(p: ConvertParams, rows: Row[]) {
  const totals = p.palette.map(() => 0);
  let unknown = 0;
  let pixels = 0;
  const unknownByFile: Record<string, number> = {};
  for (const { rel, summary } of rows) {
    summary.counts.forEach((c, i) => (totals[i] = (totals[i] ?? 0) + c));
    unknown += summary.unknown;
    pixels += summary.width * summary.height;
    if (summary.unknown > 0) unknownByFile[rel] = summary.unknown;
  }
  const frac = (n: number) => (pixels ? Math.round((n / pixels) * 1e6) / 1e6 : 0);
  return {
    files: rows.length,
    pixels,
    classes: p.palette.map((e, i) => ({ index: i, name: e.name, color: e.color, pixels: totals[i]!, fraction: frac(totals[i]!) })),
    unknownPixels: unknown,
    unknownFraction: frac(unknown),
    ignoreLabel: p.ignoreLabel,
    unknownByFile,
  };
}

/** COCO instances document: images in `rel` order (ids from 1), one annotation per instance. */
export function cocoDocument(p: ConvertParams, rows: Row[]) {
  const images = rows.map(({ rel, summary }, i) => ({
    id: i + 1,
    file_name: summary.image ?? rel,
    width: summary.width,
    height: summary.height,
  }));
  const annotations: object[] = [];
  rows.forEach(({ summary }, i) => {
    for (const inst of summary.instances) {
      annotations.push({
        id: annotations.length + 1,
        image_id: i + 1,
        category_id: inst.category,
        segmentation: inst.segmentation,
        bbox: inst.bbox,
        area: inst.area,
        iscrowd: 0,
      });
    }
  });
  const categories = p.palette
    .map((e, i) => ({ id: i, name: e.name, supercategory: 'object' }))
    .filter((c) => !isBackground(c.name));
  return {
    info: { description: `instances from ${p.masks}`, version: '1.0' },
    images,
    annotations,
    categories,
    // file_name is relative to this folder
    image_root: p.images ?? p.masks,
  };
}

