/**
 * Parameters of the `train` stage. Defaults are sized so the default
 * pipeline trains in minutes on two CPU cores; the study's own settings
 * (what to put in pipeline.yaml on a GPU machine) are:
 *
 *   crop: 256, batch: 2, steps: 2000, lr: 0.001, optimizer: sgd,
 *   momentum: 0.9, weightDecay: 0.0005, power: 0.9, scaleMin: 0.5,
 *   scaleMax: 1.5, mirror: true (head x10 / x20 is always on)
 *
 * The study fine-tuned ImageNet weights at lr 1e-3. Ours come from the
 * MobileNetV2 shipped in npm `nsfwjs` (`backbone: imagenet`, no download);
 * the rate that suits them on two CPU cores was chosen by the runs in
 * stages/train/README.md.
 */
import { z } from 'zod';
import { classNamesSchema, colourListSchema } from '../lib/image/palette.ts';

export const trainParams = z
  .object({
    /** Folder of input images (`<stem>.*`). */
    images: z.string(),
    /**
     * Folder of labels (`<stem>.<any image extension>`): `convert`'s out folder (index PNGs and the
     * `classes.json` that names the classes), or index labels (0..C-1, 255 = ignore) with `classes`,
     * or colour masks with `palette`.
     */
    labels: z.string(),
    /** Split list: one `images/x.jpg masks/x.png` pair a line; samples are matched by stem. Absent: every image with a label. */
    list: z.string().optional(),
    /** Output model folder. */
    out: z.string(),
    /** Folder of an earlier saved model to start from (fine-tuning). */
    init: z.string().optional(),
    model: z.enum(['deeplabv3plus', 'largefov']).default('deeplabv3plus'),
    /**
     * Number of classes or their names, in index order. Absent: the labels folder's classes.json
     * (written by convert); given: checked against it.
     */
    classes: classNamesSchema.optional(),
    /**
     * Where the DeepLab v3+ trunk's weights come from: `imagenet` = the Keras MobileNetV2 (width 1.0)
     * in npm `nsfwjs`, `scratch` = random, or a folder holding a Keras MobileNetV2 in tfjs layers
     * format (model.json + shards). Pretrained trunks fold batch norm into the convs (frozen statistics).
     */
    backbone: z.string().min(1).default('imagenet'),
    /** Pretrained trunk: the stem and the first `freeze` blocks (of 17) are not trained (no backward pass there). */
    freeze: z.number().int().min(0).max(17).default(0),
    /** MobileNetV2 width multiplier; absent: the pretrained trunk's own width, 0.5 from scratch. */
    width: z.number().positive().optional(),
    outputStride: z.union([z.literal(8), z.literal(16)]).default(16),
    norm: z.enum(['group', 'batch']).default('group'),
    asppChannels: z.number().int().positive().default(64),
    decoderChannels: z.number().int().positive().default(64),
    /**
     * DeepLab v3+'s decoder output stride: 4 as in the paper; 2 adds a skip from the trunk's stride-2
     * features, 1 also one from a conv on the image itself (finer edges and thin parts).
     */
    decoderStride: z.union([z.literal(4), z.literal(2), z.literal(1)]).default(4),
    steps: z.number().int().positive().default(100),
    batch: z.number().int().positive().default(2),
    crop: z.number().int().min(16).default(128),
    scaleMin: z.number().positive().default(0.5),
    scaleMax: z.number().positive().default(1.5),
    mirror: z.boolean().default(true),
    seed: z.number().int().default(0),
    optimizer: z.enum(['sgd', 'adam']).default('sgd'),
    lr: z.number().positive().default(0.01),
    momentum: z.number().min(0).max(1).default(0.9),
    weightDecay: z.number().min(0).default(0.0005),
    power: z.number().min(0).default(0.9),
    /**
     * Training loss: pixel-wise cross-entropy (the study's), or cross-entropy plus the Lovász-softmax
     * loss (Berman et al. 2018), a surrogate of 1 - IoU per class: a thin class counts as much as the
     * background however few pixels it has.
     */
    loss: z.enum(['crossentropy', 'crossentropy+lovasz']).default('crossentropy'),
    /** Per-class loss weights (length = classes). */
    classWeights: z.array(z.number().min(0)).optional(),
    /**
     * Colours of colour-mask labels (`[[r, g, b], ...]` or `[{ name, color }, ...]`, one per class),
     * for labels folders without classes.json; with one, a check against it.
     */
    palette: colourListSchema.optional(),
    checkpointEvery: z.number().int().positive().default(50),
    progressEvery: z.number().int().positive().default(5),
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  })
  .strict();

export type TrainParams = z.infer<typeof trainParams>;

/** Whether `backbone` names a folder (a user's converted Keras model) rather than `imagenet` or `scratch`. */
export function isBackboneFolder(backbone: string): boolean {
  return backbone !== 'imagenet' && backbone !== 'scratch';
}
