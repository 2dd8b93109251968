/**
 * Colour palettes for segmentation masks: which RGB colour means which class,
 * and the mapping of a colour mask to single-channel class indices.
 */
import { z } from 'zod';
import type { GrayImage, RgbImage } from './types.ts';

const channel = z.number().int().min(0).max(255);

/** One palette entry: class name and its mask colour. Index = position in the list. */
export const paletteEntrySchema = z.object({ name: z.string().min(1), color: z.tuple([channel, channel, channel]) }).strict();
export type PaletteEntry = z.infer<typeof paletteEntrySchema>;

/** The study's palette (VOC colours): background, valve, pipe. */
export const STUDY_PALETTE: PaletteEntry[] = [
  { name: 'background', color: [0, 0, 0] },
  { name: 'valve', color: [128, 0, 0] },
  { name: 'pipe', color: [0, 128, 0] },
];

/** A palette list: unique names and colours, at most 255 classes (255 is the ignore label). */
export const paletteSchema = z
  .array(paletteEntrySchema)
  .min(1)
  .max(255)
  .superRefine((p, ctx) => {
    const names = new Set<string>();
    const colors = new Set<string>();
    p.forEach((e, i) => {
      if (names.has(e.name)) ctx.addIssue({ code: 'custom', message: `palette: class name "${e.name}" appears twice`, path: [i, 'name'] });
      const c = e.color.join(',');
      if (colors.has(c)) ctx.addIssue({ code: 'custom', message: `palette: colour (${c}) appears twice`, path: [i, 'color'] });
      names.add(e.name);
      colors.add(c);
    });
  });

export interface LabelResult {
  labels: GrayImage;
  /** Pixels per class index (same order as the palette). */
  counts: number[];
  /** Pixels whose colour matched no class within the tolerance (set to the ignore label). */
  unknown: number;
}

/**
 * Maps an RGB mask to class indices. A colour maps to the palette entry whose
 * largest per-channel difference is smallest, if that difference is at most
 * `tolerance` (0 = exact colours only); otherwise to `ignoreLabel`. Colours are
 * resolved once each (masks hold few distinct colours, JPEG masks some
 * thousands), so the per-pixel cost is one Map lookup.
 */
export function colorsToLabels(mask: RgbImage, palette: PaletteEntry[], ignoreLabel: number, tolerance: number): LabelResult {
  const n = mask.width * mask.height;
  const out = new Uint8Array(n);
  const counts = new Array<number>(palette.length).fill(0);
  const cache = new Map<number, number>();
  const d = mask.data;
  let unknown = 0;
  let lastKey = -1;
  let lastIdx = 0;
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    const key = (d[p]! << 16) | (d[p + 1]! << 8) | d[p + 2]!;
    let idx: number;
    if (key === lastKey) idx = lastIdx;
    else {
      let hit = cache.get(key);
      if (hit === undefined) {
        hit = nearest(d[p]!, d[p + 1]!, d[p + 2]!, palette, tolerance);
        cache.set(key, hit);
      }
      idx = hit;
      lastKey = key;
      lastIdx = idx;
    }
    if (idx < 0) {
      out[i] = ignoreLabel;
      unknown++;
    } else {
      out[i] = idx;
      counts[idx]!++;
    }
  }
  return { labels: { data: out, width: mask.width, height: mask.height }, counts, unknown };
}

function nearest(r: number, g: number, b: number, palette: PaletteEntry[], tolerance: number): number {
  let best = -1;
  let bestDist = Infinity;
  palette.forEach((e, i) => {
    const dist = Math.max(Math.abs(r - e.color[0]), Math.abs(g - e.color[1]), Math.abs(b - e.color[2]));
    if (dist < bestDist) {
      bestDist = dist;
      best = i;
    }
  });
  return bestDist <= tolerance ? best : -1;
}
