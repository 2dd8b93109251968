/** The aggregate outputs of `convert`: the class list with class balance, checks over all masks, split lists, the COCO document. */
import { failure, FailureError } from '../../src/stage-api.ts';
import { CLASSES_FORMAT } from '../lib/image/class-list.ts';
import { colourDistance, GROUP_RADIUS, groupColours, rgbText, unpackRgb } from '../lib/image/palette.ts';
import type { MaskSummary } from './convert.ts';
import { isBackground } from './convert.ts';
import { convertPalette, type ConvertParams } from './params.ts';

type Row = { rel: string; summary: MaskSummary };

/** Files left out of the set, for classes.json and warnings. */
export interface Unpaired {
  masksWithoutImage: string[];
  imagesWithoutMask: string[];
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** The groups of unknown colours over all masks, largest first. */
function unknownTotals(rows: Row[]): [number, number][] {
  return groupColours(rows.flatMap((r) => r.summary.unknownColours));
}

/**
 * classes.json: the class list (names, colours, ignore label) that `train`
 * and `evaluate` read, with pixel counts and fractions per class, and what
 * did not fit (unknown colours in total, per file and by colour).
 */
export function classBalance(p: ConvertParams, rows: Row[], unpaired: Unpaired, warnings: string[]) {
  const palette = convertPalette(p);
  const totals = palette.map(() => 0);
  let unknown = 0;
  let snapped = 0;
  let pixels = 0;
  const unknownByFile: Record<string, number> = {};
  for (const { rel, summary } of rows) {
    summary.counts.forEach((c, i) => (totals[i] = (totals[i] ?? 0) + c));
    unknown += summary.unknown;
    snapped += summary.snapped;
    pixels += summary.width * summary.height;
    if (summary.unknown > 0) unknownByFile[rel] = summary.unknown;
  }
  const frac = (n: number) => (pixels ? round6(n / pixels) : 0);
  return {
    format: CLASSES_FORMAT,
    version: 1,
    classes: palette.map((e, i) => ({ index: i, name: e.name, color: e.color, pixels: totals[i]!, fraction: frac(totals[i]!) })),
    ignoreLabel: p.ignoreLabel,
    files: rows.length,
    pixels,
    unknownPixels: unknown,
    unknownFraction: frac(unknown),
    unknownByFile,
    unknownColours: unknownTotals(rows)
      .slice(0, 10)
      .map(([k, n]) => ({ color: unpackRgb(k), pixels: n, fraction: frac(n) })),
    snappedPixels: snapped,
    emptyClasses: palette.filter((_, i) => totals[i] === 0).map((e) => e.name),
    ...unpaired,
    warnings,
  };
}

function some(names: string[], n = 3): string {
  return names.slice(0, n).join(', ') + (names.length > n ? `, ... (${names.length} in all)` : '');
}

/**
 * Checks over the whole set, after every mask is converted: masks that are
 * all black and white with no class for white (binary masks read with a
 * colour palette), too many pixels of colours outside the palette, and no
 * mask at all are failures naming the fix; classes without pixels, masks
 * and images without a partner, scaled 16-bit and transparent masks are
 * warnings (returned).
 */
export function checkConversion(p: ConvertParams, rows: Row[], unpaired: Unpaired): string[] {
  const palette = convertPalette(p);
  if (rows.length === 0) {
    throw new FailureError(
      failure('missing-dep', `no mask in ${p.masks} was converted${unpaired.masksWithoutImage.length ? `: none has an image in ${p.images}` : ''}`, {
        file: p.masks,
        hint: unpaired.masksWithoutImage.length
          ? `masks are paired with images by sub-folder and file name without extension; masks: ${some(unpaired.masksWithoutImage)}; images: ${unpaired.imagesWithoutMask.length ? some(unpaired.imagesWithoutMask) : 'none'}`
          : 'put the masks (PNG, BMP, JPEG or TIFF) in the masks folder',
      }),
    );
  }
  const hasWhite = palette.some((e) => e.color.every((c) => c === 255));
  if (!p.binary && !hasWhite && rows.every((r) => r.summary.blackWhite)) {
    throw new FailureError(
      failure('io', `every mask in ${p.masks} is black and white (0/255), but the palette has no class for white (${palette.map((e) => `${e.name} ${rgbText(e.color)}`).join(', ')}): the objects would all become the ignore label`, {
        file: p.masks,
        hint: 'set binary: true (values above 127 become class 1, "foreground"; name it with palette: [{ name: background, color: [0, 0, 0] }, { name: <object>, color: [255, 255, 255] }]), or give a palette with white',
      }),
    );
  }
  let pixels = 0;
  let unknown = 0;
  for (const { summary } of rows) {
    pixels += summary.width * summary.height;
    unknown += summary.unknown;
  }
  const groups = unknownTotals(rows);
  const colours = groups
    .slice(0, 5)
    .map(([k, n]) => `${rgbText(unpackRgb(k))} ${((100 * n) / pixels).toFixed(2)}%`)
    .join(', ');
  const largest = groups[0];
  if (largest && largest[1] > p.maxUnknown * pixels) {
    const worst = rows
      .filter((r) => r.summary.unknownColours.some(([k]) => colourDistance(unpackRgb(k), unpackRgb(largest[0])) <= GROUP_RADIUS))
      .sort((a, b) => b.summary.unknown - a.summary.unknown)
      .slice(0, 3)
      .map((r) => r.rel);
    throw new FailureError(
      failure('io', `${((100 * largest[1]) / pixels).toFixed(1)}% of the pixels of the masks in ${p.masks} have the colour ${rgbText(unpackRgb(largest[0]))} (or close to it), which is not in the palette (unknown colours: ${colours}; e.g. in ${worst.join(', ')})`, {
        file: p.masks,
        hint: `add a palette entry (name and colour) for each colour that is a class; a colour that means "no class" (object borders) becomes the ignore label ${p.ignoreLabel} if you raise maxUnknown (now ${p.maxUnknown})`,
      }),
    );
  }
  const warnings: string[] = [];
  if (unknown > 0) warnings.push(`${unknown} pixels (${((100 * unknown) / pixels).toFixed(2)}%) have colours not in the palette and became the ignore label ${p.ignoreLabel}: ${colours}`);
  const totals = palette.map((_, i) => rows.reduce((a, r) => a + (r.summary.counts[i] ?? 0), 0));
  const empty = palette.filter((_, i) => totals[i] === 0);
  if (empty.length) {
    warnings.push(`no mask has pixels of ${empty.map((e) => `'${e.name}' ${rgbText(e.color)}`).join(', ')}: check the palette colours against the masks${unknown ? ` (most common unknown colours: ${colours})` : ''}`);
  }
  if (unpaired.masksWithoutImage.length) warnings.push(`${unpaired.masksWithoutImage.length} mask(s) have no image in ${p.images} and were left out: ${some(unpaired.masksWithoutImage)}`);
  if (unpaired.imagesWithoutMask.length) warnings.push(`${unpaired.imagesWithoutMask.length} image(s) in ${p.images} have no mask: ${some(unpaired.imagesWithoutMask)}`);
  const scaled = rows.filter((r) => r.summary.scaled16).map((r) => r.rel);
  if (scaled.length) warnings.push(`${scaled.length} 16-bit mask(s) were scaled to 8 bits (values / 257): ${some(scaled)}`);
  const clear = rows.filter((r) => r.summary.transparent > 0).map((r) => r.rel);
  if (clear.length) warnings.push(`${clear.length} mask(s) have fully transparent pixels, read as '${palette[0]!.name}': ${some(clear)}`);
  return warnings;
}

/** FNV-1a of a string: a split that does not change when other files come or go. */
function nameHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * train.txt and test.txt: `image label` a line (a tab between them when a
 * path holds spaces); `fraction` of the masks, chosen by a hash of the name,
 * go to test (at least one when there are two or more masks).
 */
export function splitLists(rows: Row[], fraction: number): { train: string; test: string } {
  const byHash = [...rows].sort((a, b) => nameHash(a.rel) - nameHash(b.rel) || (a.rel < b.rel ? -1 : 1));
  const nTest = rows.length < 2 ? 0 : Math.min(rows.length - 1, Math.max(1, Math.round(fraction * rows.length)));
  const test = new Set(byHash.slice(0, nTest).map((r) => r.rel));
  const line = (r: Row): string => {
    const label = r.rel.replace(/\.[^./]*$/, '.png');
    const first = r.summary.image ?? label;
    return /\s/.test(first + label) ? `${first}\t${label}` : `${first} ${label}`;
  };
  const text = (pick: boolean): string => rows.filter((r) => test.has(r.rel) === pick).map(line).join('\n') + '\n';
  return { train: text(false), test: text(true) };
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
  const categories = convertPalette(p)
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
