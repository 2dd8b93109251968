/**
 * Colour palettes for segmentation masks: which RGB colour means which class,
 * and the mapping of a colour mask to single-channel class indices.
 *
 * This module is the one place the study's class list (names and VOC colours)
 * is written; every stage takes it from here, from a labels folder's
 * `classes.json` or from a model's `model.json`.
 */
import { z } from 'zod';
import type { GrayImage, RgbImage } from './types.ts';

export type Rgb = [number, number, number];

const channel = z.number().int().min(0).max(255);
const rgbSchema = z.tuple([channel, channel, channel]);

/** One palette entry: class name and its mask colour. Index = position in the list. */
export const paletteEntrySchema = z.object({ name: z.string().min(1), color: rgbSchema }).strict();
export type PaletteEntry = z.infer<typeof paletteEntrySchema>;

/** The study's classes (VOC colours): background, valve, pipe. */
export const STUDY_PALETTE: PaletteEntry[] = [
  { name: 'background', color: [0, 0, 0] },
  { name: 'valve', color: [128, 0, 0] },
  { name: 'pipe', color: [0, 128, 0] },
];

/** The classes of a binary (0/255) mask read with `binary: true`. */
export const BINARY_PALETTE: PaletteEntry[] = [
  { name: 'background', color: [0, 0, 0] },
  { name: 'foreground', color: [255, 255, 255] },
];

/** The label of pixels that belong to no class (unknown colours, VOC's object borders). */
export const IGNORE_LABEL = 255;

/** Problems of a palette list: names and colours must be unique. */
function paletteProblems(p: { name?: string; color: Rgb }[]): { message: string; path: (string | number)[] }[] {
  const out: { message: string; path: (string | number)[] }[] = [];
  const names = new Set<string>();
  const colors = new Set<string>();
  p.forEach((e, i) => {
    if (e.name !== undefined && names.has(e.name)) out.push({ message: `palette: class name "${e.name}" appears twice`, path: [i, 'name'] });
    const c = e.color.join(',');
    if (colors.has(c)) out.push({ message: `palette: colour (${c}) appears twice`, path: [i, 'color'] });
    if (e.name !== undefined) names.add(e.name);
    colors.add(c);
  });
  return out;
}

/** A palette list: unique names and colours, at most 255 classes (255 is the ignore label). */
export const paletteSchema = z
  .array(paletteEntrySchema)
  .min(1)
  .max(255)
  .superRefine((p, ctx) => paletteProblems(p).forEach((x) => ctx.addIssue({ code: 'custom', ...x })));

/**
 * `palette` of `train`/`evaluate`: the colours of colour-mask labels, as RGB
 * triples or as `{name, color}` entries (the same list `convert` takes).
 */
export const colourListSchema = z
  .union([z.array(rgbSchema).min(2).max(255), z.array(paletteEntrySchema).min(2).max(255)])
  .superRefine((p, ctx) =>
    paletteProblems(p.map((e) => (Array.isArray(e) ? { color: e } : e))).forEach((x) => ctx.addIssue({ code: 'custom', ...x })),
  );
export type ColourList = z.infer<typeof colourListSchema>;

/** `classes` of `train`/`evaluate`: a number of classes or their names in index order. */
export const classNamesSchema = z.union([
  z.number().int().min(2).max(255),
  z
    .array(z.string().min(1))
    .min(2)
    .max(255)
    .refine((n) => new Set(n).size === n.length, { message: 'class names must be unique' }),
]);
export type ClassNames = z.infer<typeof classNamesSchema>;

/** Colours of a colour list, whichever form it was given in. */
export function coloursOf(list: ColourList): Rgb[] {
  return list.map((e) => (Array.isArray(e) ? e : e.color));
}

/** `(r,g,b)` for messages. */
export function rgbText(c: readonly number[]): string {
  return `(${c.join(',')})`;
}

/**
 * `given` extended to `n` colours with PASCAL VOC's bit-interleaved palette
 * (colours for predictions of classes the caller named no colour for).
 */
export function extendPalette(n: number, given: Rgb[]): Rgb[] {
  const out = given.slice(0, n);
  for (let i = out.length; i < n; i++) {
    const c: Rgb = [0, 0, 0];
    for (let j = 0, k = i; j < 8; j++, k >>= 3) for (let b = 0; b < 3; b++) c[b]! |= ((k >> b) & 1) << (7 - j);
    out.push(c);
  }
  return out;
}

/** Largest per-channel difference between two colours (the distance tolerances use). */
export function colourDistance(a: readonly number[], b: readonly number[]): number {
  return Math.max(Math.abs(a[0]! - b[0]!), Math.abs(a[1]! - b[1]!), Math.abs(a[2]! - b[2]!));
}

/** The most `autoTolerance` allows: enough for JPEG noise and off-by-a-few colours in flat regions. */
export const MAX_AUTO_TOLERANCE = 48;

/**
 * A tolerance at which no colour can be near two palette colours: just under
 * half the smallest distance between two of them, and at most 48. JPEG noise
 * and off-by-a-few colours snap to their class; colours far from every class
 * (an edge blended between two classes, which may lie near a third one, as
 * red + green = yellow) stay unknown and become the ignore label.
 */
export function autoTolerance(palette: PaletteEntry[]): number {
  let min = 256;
  for (let i = 0; i < palette.length; i++) {
    for (let j = i + 1; j < palette.length; j++) min = Math.min(min, colourDistance(palette[i]!.color, palette[j]!.color));
  }
  return Math.max(0, Math.min(MAX_AUTO_TOLERANCE, Math.floor((min - 1) / 2)));
}

export interface LabelResult {
  labels: GrayImage;
  /** Pixels per class index (same order as the palette). */
  counts: number[];
  /** Pixels whose colour matched no class within the tolerance (set to the ignore label). */
  unknown: number;
  /** Pixels that matched a class within the tolerance but not exactly (JPEG noise, soft edges). */
  snapped: number;
  /** Pixel count per unknown colour (`0xRRGGBB` keys). */
  unknownColours: Map<number, number>;
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
  // per colour: class index (or -1), and whether the match was exact
  const cache = new Map<number, number>();
  const exact = new Set(palette.map((e) => (e.color[0] << 16) | (e.color[1] << 8) | e.color[2]));
  const unknownColours = new Map<number, number>();
  const d = mask.data;
  let unknown = 0;
  let snapped = 0;
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
      unknownColours.set(key, (unknownColours.get(key) ?? 0) + 1);
    } else {
      out[i] = idx;
      counts[idx]!++;
      if (!exact.has(key)) snapped++;
    }
  }
  return { labels: { data: out, width: mask.width, height: mask.height }, counts, unknown, snapped, unknownColours };
}

/**
 * Binary masks (0/255 from a saliency or annotation tool): a pixel whose mean
 * channel value is above 127 is class 1, else class 0.
 */
export function binaryToLabels(mask: RgbImage): LabelResult {
  const n = mask.width * mask.height;
  const out = new Uint8Array(n);
  const d = mask.data;
  let ones = 0;
  let snapped = 0;
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    const sum = d[p]! + d[p + 1]! + d[p + 2]!;
    const one = sum > 3 * 127;
    out[i] = one ? 1 : 0;
    if (one) ones++;
    if (sum !== 0 && sum !== 3 * 255) snapped++;
  }
  return { labels: { data: out, width: mask.width, height: mask.height }, counts: [n - ones, ones], unknown: 0, snapped, unknownColours: new Map() };
}

/** Colours within this distance of a group's first (most common) colour join the group. */
export const GROUP_RADIUS = 24;

/**
 * Unknown colours (`[0xRRGGBB, pixels]`) grouped around their most common
 * members, largest group first: a class missing from the palette is one group
 * holding many pixels (a flat region of one colour, with its JPEG noise),
 * while soft edges and blends between classes spread over many small groups.
 * Each group is named by its most common colour.
 */
export function groupColours(colours: Iterable<readonly [number, number]>): [number, number][] {
  const sorted = [...colours].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const groups: { key: number; rgb: Rgb; pixels: number }[] = [];
  for (const [key, n] of sorted) {
    const rgb = unpackRgb(key);
    const g = groups.find((x) => colourDistance(x.rgb, rgb) <= GROUP_RADIUS);
    if (g) g.pixels += n;
    else groups.push({ key, rgb, pixels: n });
  }
  return groups.sort((a, b) => b.pixels - a.pixels).map((g) => [g.key, g.pixels]);
}

/** `0xRRGGBB` to `[r, g, b]`. */
export function unpackRgb(key: number): Rgb {
  return [(key >> 16) & 255, (key >> 8) & 255, key & 255];
}

function nearest(r: number, g: number, b: number, palette: PaletteEntry[], tolerance: number): number {
  let best = -1;
  let bestDist = Infinity;
  palette.forEach((e, i) => {
    const dist = colourDistance([r, g, b], e.color);
    if (dist < bestDist) {
      bestDist = dist;
      best = i;
    }
  });
  return bestDist <= tolerance ? best : -1;
}
