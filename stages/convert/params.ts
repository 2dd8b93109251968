/** Params of the `convert` stage: colour masks to index labels (+ COCO instances). */
import { z } from 'zod';
import { BINARY_PALETTE, paletteSchema, STUDY_PALETTE, type PaletteEntry } from '../lib/image/palette.ts';

export const convertParams = z
  .object({
    masks: z.string().default('data/synth/dark/masks'),
    out: z.string().default('work/labels/dark'),
    /**
     * The class list: names and mask colours; index = position. Written to `<out>/classes.json`, where
     * `train` and `evaluate` read it. Default: the study's (background, valve, pipe), or with `binary`
     * background and foreground. Entries named `background` get no COCO category.
     */
    palette: paletteSchema.optional(),
    /** Binary masks (0/255 from a saliency or annotation tool): mean channel value above 127 = class 1, else 0. */
    binary: z.boolean().default(false),
    /** Label for pixels whose colour is not in the palette (must not be a class index). */
    ignoreLabel: z.number().int().min(0).max(255).default(255),
    /**
     * Largest per-channel difference at which a colour still snaps to the nearest palette colour (JPEG
     * masks, anti-aliased edges). `auto`: just under half the distance between the two closest palette
     * colours (so no colour can snap to two classes), at most 48; 0: exact colours only.
     */
    tolerance: z.union([z.literal('auto'), z.number().int().min(0).max(255)]).default('auto'),
    /**
     * Largest share of all mask pixels that one colour outside the palette (with the colours close to it,
     * such as its JPEG noise) may cover; above it the stage fails naming the colour, since a class is
     * probably missing from the palette. Unknown colours become the ignore label; soft edges and blends,
     * spread over many colours, never reach it.
     */
    maxUnknown: z.number().min(0).max(1).default(0.05),
    /** Folder of the matching images (same sub-folders and stems): size check and COCO image entries. */
    images: z.string().optional(),
    /**
     * Share of the masks (by a hash of their name, so adding files moves no other) listed in
     * `<out>/test.txt`, the rest in `<out>/train.txt`. 0: no lists.
     */
    testFraction: z.number().min(0).max(0.9).default(0),
    /** Also write `coco.json` (COCO instance annotations). */
    coco: z.boolean().default(true),
    /** Douglas-Peucker tolerance in pixels for COCO polygons (0 = keep every contour corner). */
    polygonEpsilon: z.number().min(0).max(20).default(1),
    /**
     * Shape of COCO instances: `auto` = outer polygon, or RLE (uncompressed, column-major)
     * for an instance with holes (a ring, a hand wheel); `polygon` = always the outer polygon
     * (holes count as object; for tools that read polygons only); `rle` = always RLE.
     * Detectron2 reads RLE with `INPUT.MASK_FORMAT: bitmask`.
     */
    cocoSegmentation: z.enum(['auto', 'polygon', 'rle']).default('auto'),
  })
  .strict()
  .refine((p) => !p.binary || !p.palette || p.palette.length === 2, {
    message: 'binary masks have two classes: give palette two entries (background first), or leave it out',
    path: ['palette'],
  })
  .refine((p) => p.ignoreLabel >= convertPalette(p).length, {
    message: 'ignoreLabel must not be a class index (it must be >= the number of palette entries)',
    path: ['ignoreLabel'],
  });

export type ConvertParams = z.infer<typeof convertParams>;

/** The class list of a convert stage: its palette, or the default for its kind of mask. */
export function convertPalette(p: { palette?: PaletteEntry[] | undefined; binary: boolean }): PaletteEntry[] {
  return p.palette ?? (p.binary ? BINARY_PALETTE : STUDY_PALETTE);
}
