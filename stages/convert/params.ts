/** Params of the `convert` stage: colour masks to index labels (+ COCO instances). */
import { z } from 'zod';
import { paletteSchema, STUDY_PALETTE } from '../lib/image/palette.ts';

export const convertParams = z
  .object({
    masks: z.string().default('data/synth/dark/masks'),
    out: z.string().default('work/labels/dark'),
    /** Class colours; index = position. Entries named `background` get no COCO category. */
    palette: paletteSchema.default(STUDY_PALETTE),
    /** Label for pixels whose colour is not in the palette (must not be a class index). */
    ignoreLabel: z.number().int().min(0).max(255).default(255),
    /** Largest per-channel difference at which a colour still snaps to the nearest palette colour (JPEG masks). */
    tolerance: z.number().int().min(0).max(255).default(0),
    /** Folder of the matching images (same sub-folders and stems): size check and COCO image entries. */
    images: z.string().optional(),
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
  .refine((p) => p.ignoreLabel >= p.palette.length, {
    message: 'ignoreLabel must not be a class index (it must be >= the number of palette entries)',
    path: ['ignoreLabel'],
  });

export type ConvertParams = z.infer<typeof convertParams>;
