/** Params of the `deglare` stage: the study's laser-line removal with every number a param. */
import { z } from 'zod';

export const haloSchema = z
  .object({
    /** Remove the diffuse glow around the lines after inpainting (the study found it still hurt). */
    enabled: z.boolean().default(false),
    /** How far (pixels) beyond the dilated line mask the glow reaches. */
    width: z.number().int().min(1).max(500).default(40),
    /** Gaussian sigma (pixels) of the smooth glow estimate. */
    sigma: z.number().positive().max(200).default(8),
    /** Fraction of the estimated glow to subtract (1 = all of it). */
    strength: z.number().min(0).max(2).default(1),
  })
  .strict();

export const colorSchema = z
  .object({
    /** Laser pixels have at least this much green (0-255). */
    minGreen: z.number().int().min(0).max(255).default(100),
    /** ...and green exceeds both red and blue by at least this much, so white highlights are kept. */
    dominance: z.number().int().min(0).max(255).default(40),
  })
  .strict();

export const deglareParams = z
  .object({
    images: z.string().default('data/synth/dark/images'),
    out: z.string().default('work/deglared/dark'),
    /** How glare pixels are found: fixed grey threshold (the study), a per-image percentile, or green laser colour. */
    method: z.enum(['threshold', 'percentile', 'color']).default('threshold'),
    /** Grey level above which a pixel is glare (method `threshold`). */
    threshold: z.number().int().min(0).max(254).default(100),
    /** Grey-level percentile of each image above which a pixel is glare (method `percentile`). */
    percentile: z.number().min(0).max(100).default(99.5),
    color: colorSchema.prefault({}),
    /** Dilation ellipse [width, height] in pixels. */
    kernel: z.tuple([z.number().int().min(1).max(255), z.number().int().min(1).max(255)]).default([15, 20]),
    iterations: z.number().int().min(0).max(50).default(3),
    /**
     * Inpainting: Telea (our faster implementation of OpenCV's algorithm), `telea-opencv` (opencv.js's own,
     * kept for comparison; equal to within a few grey levels on a few pixels), or OpenCV's Navier-Stokes.
     */
    inpaint: z.enum(['telea', 'telea-opencv', 'ns']).default('telea'),
    radius: z.number().min(1).max(100).default(15),
    /** Gaussian blur kernel size after inpainting (odd; 0 = off). */
    blur: z.number().int().min(0).max(99).refine((v) => v === 0 || v % 2 === 1, 'blur must be odd (or 0 = off)').default(5),
    halo: haloSchema.prefault({}),
    format: z.enum(['png', 'jpg']).default('png'),
    /** JPEG quality when format is jpg. */
    quality: z.number().int().min(1).max(100).default(95),
    /**
     * zlib level (0-9) of the PNGs written (images when format is png, and the glare masks). Default 1, like
     * OpenCV's imwrite (the study's recipe): about half the encode time of level 6 for slightly bigger files.
     */
    pngCompression: z.number().int().min(0).max(9).default(1),
  })
  .strict();

export type DeglareParams = z.infer<typeof deglareParams>;
