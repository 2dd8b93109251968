/** Parameters of the `evaluate` stage. */
import { z } from 'zod';

const rgb = z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]);

export const evaluateParams = z
  .object({
    /** Model folder written by `train`. */
    model: z.string(),
    images: z.string(),
    /** Index label PNGs (`<stem>.png`, 255 = ignore) or colour masks in `palette` colours. */
    labels: z.string(),
    list: z.string(),
    out: z.string(),
    /** Class names, in index order; their count must match the model's. */
    classes: z.array(z.string()).min(2).default(['background', 'valve', 'pipe']),
    /** Colour per class for prediction PNGs and overlays (and for reading colour-mask labels). */
    palette: z.array(rgb).default([
      [0, 0, 0],
      [128, 0, 0],
      [0, 128, 0],
    ]),
    /** Number of images (evenly spread over the list) that get an overlay. */
    samples: z.number().int().min(0).default(8),
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  })
  .strict();

export type EvaluateParams = z.infer<typeof evaluateParams>;
