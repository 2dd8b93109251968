/** Parameters of the `evaluate` stage. */
import { z } from 'zod';
import { classNamesSchema, colourListSchema } from '../lib/image/palette.ts';
import { crfParamsSchema } from '../lib/tf/crf.ts';

export const evaluateParams = z
  .object({
    /** Model folder written by `train`. */
    model: z.string(),
    images: z.string(),
    /**
     * Folder of labels (`<stem>.<any image extension>`): `convert`'s out folder (index PNGs and
     * classes.json), index labels (255 = ignore), or colour masks in `palette` colours.
     */
    labels: z.string(),
    /** Split list (`image mask` a line, matched by stem). Absent: every image with a label. */
    list: z.string().optional(),
    out: z.string(),
    /**
     * Class names (or their number), in index order. Absent: the labels folder's classes.json,
     * else the model's own list; given: checked against both.
     */
    classes: classNamesSchema.optional(),
    /**
     * Colour per class (`[[r, g, b], ...]` or `[{ name, color }, ...]`) of colour-mask labels, for
     * labels folders without classes.json; with one, a check against it.
     */
    palette: colourListSchema.optional(),
    /**
     * Test-time augmentation: predict each image and its mirror image and add their logits (twice the
     * inference time). The training stage mirrors its crops, so the model has seen both.
     */
    flip: z.boolean().default(false),
    /**
     * Refine each prediction with a CRF over the image's colours (DeepLab v1/v2's post-processing; see
     * stages/lib/tf/crf.ts): `true` for the defaults (chosen on 320 held-out rendered scenes at 128x128,
     * stages/train/README.md), or the settings. Its sigmas are in pixels and 0-255 colour units: scale
     * `radius` and the spatial sigmas with much larger images.
     */
    crf: z.union([z.boolean(), crfParamsSchema]).default(false),
    /** Number of images (evenly spread over the list) that get an overlay. */
    samples: z.number().int().min(0).default(8),
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  })
  .strict();

export type EvaluateParams = z.infer<typeof evaluateParams>;
