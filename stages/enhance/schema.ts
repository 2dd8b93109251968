/** Params of the `enhance` stage: an ordered list of operations, each with its own params. */
import { z } from 'zod';

const unit = z.number().min(0).max(1);

const haze = {
  /** Minimum-filter patch size in pixels. */
  patch: z.number().int().min(1).max(101).default(15),
  /** How much haze to remove (1 = all). */
  omega: unit.default(0.95),
  /** Lower bound of the transmission, so dark far regions are not blown up. */
  t0: z.number().min(0.01).max(1).default(0.1),
  /** Guided-filter radius for the transmission (0 = no refinement). */
  radius: z.number().int().min(0).max(200).default(30),
  /** Guided-filter regularisation. */
  eps: z.number().positive().max(1).default(1e-3),
  /** Fraction of haziest pixels whose mean colour is the ambient light. */
  top: z.number().positive().max(0.5).default(0.001),
};

export const opSchema = z.discriminatedUnion('op', [
  /** out = in^gamma on [0, 1] (gamma < 1 brightens). */
  z.object({ op: z.literal('gamma'), gamma: z.number().positive().max(10).default(1.2) }).strict(),
  /** Laplacian sharpening: out = in - amount * Laplacian(in). */
  z.object({ op: z.literal('sharpen'), amount: z.number().min(0).max(10).default(1), ksize: z.union([z.literal(1), z.literal(3), z.literal(5)]).default(3) }).strict(),
  /** Linear stretch of all channels together from the [low, high] percentiles to [0, 1]. */
  z.object({ op: z.literal('stretch'), low: z.number().min(0).max(50).default(0), high: z.number().min(50).max(100).default(100) }).strict(),
  /** Auto levels and contrast: per channel, clip `clip`% at each end and stretch to [0, 1]. */
  z.object({ op: z.literal('levels'), clip: z.number().min(0).max(25).default(0.5) }).strict(),
  /** CLAHE on the L channel of Lab. */
  z.object({ op: z.literal('clahe'), clipLimit: z.number().positive().max(100).default(2), tiles: z.number().int().min(1).max(64).default(8) }).strict(),
  /** Gray-world white balance: scale each channel so its mean equals the mean grey. */
  z.object({ op: z.literal('whiteBalance') }).strict(),
  /** Red (and optionally blue) channel compensation from green (Ancuti et al. 2018). */
  z.object({ op: z.literal('redCompensation'), alpha: z.number().min(0).max(10).default(1), blue: z.boolean().default(false) }).strict(),
  /** Dark channel prior dehazing (He et al. 2009) with guided-filter refinement. */
  z.object({ op: z.literal('dehaze'), ...haze }).strict(),
  /** Underwater dark channel prior: dark channel over green and blue only (Drews et al. 2013). */
  z.object({ op: z.literal('udcp'), ...haze }).strict(),
  /**
   * Backscatter removal by the formation model I = J t + B (1 - t), per channel:
   * B (the veiling light) from the haziest pixels or given, the backscatter
   * B (1 - t_c) from each channel's local minimum, then J = (I - B (1 - t_c)) / t_c.
   */
  z
    .object({
      op: z.literal('backscatter'),
      ...haze,
      /** Veiling light colour in [0, 1] RGB, if known (e.g. the laser's green); estimated when absent. */
      bInf: z.tuple([unit, unit, unit]).optional(),
    })
    .strict(),
]);

export type Op = z.infer<typeof opSchema>;
export type OpName = Op['op'];

export const enhanceParams = z
  .object({
    images: z.string().default('data/synth/dark/images'),
    out: z.string().default('work/enhanced/dark'),
    ops: z.array(opSchema).default([{ op: 'levels', clip: 0.5 }]),
    format: z.enum(['png', 'jpg']).default('png'),
    quality: z.number().int().min(1).max(100).default(95),
    /**
     * zlib level (0-9) of the PNGs written when format is png. Default 1, like OpenCV's imwrite and `deglare`:
     * about a third of level 6's encode time for slightly bigger files, the same pixels.
     */
    pngCompression: z.number().int().min(0).max(9).default(1),
    /**
     * Score every input and output with UIQM and UCIQE (quality.json). At 640x480 the four scores cost about three
     * times the CPU of the default ops; `false` leaves quality.json with the image count and ops only.
     */
    scores: z.boolean().default(true),
    /** UIQM tile size in pixels (variant `pipe`; `funie-gan` always uses 10). */
    metricBlock: z.number().int().min(2).max(64).default(8),
    /**
     * Which UIQM implementation: `pipe` (this project's reading of Panetta et al.) or `funie-gan` (FUnIE-GAN's
     * `Evaluation/uqim_utils.py`, which most published UIQM tables used). quality.json names the variant.
     */
    uiqm: z.enum(['pipe', 'funie-gan']).default('pipe'),
    /** Which UCIQE implementation: `pipe` (Yang and Sowmya on CIELab) or `jou-uip` (JOU-UIP's `UCIQE.py`, after `UCIQE.m`). */
    uciqe: z.enum(['pipe', 'jou-uip']).default('pipe'),
  })
  .strict();

export type EnhanceParams = z.infer<typeof enhanceParams>;
