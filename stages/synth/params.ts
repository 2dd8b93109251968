/**
 * The synth stage's params: a zod schema whose defaults are the documented
 * defaults (parsing `{}` gives them). Every physical constant of the renderer
 * is here so a user can change it in pipeline.yaml; nested objects use
 * `prefault({})` so a partial override keeps the other defaults.
 *
 * Lengths on the image (laser width, glow radius, snow size) are fractions of
 * the image height, so a preset looks the same at 128 and 512 pixels; the
 * camera blur is in pixels because it is a property of the sensor.
 */
import { z } from 'zod';

/** Conditions the renderer knows. */
export const CONDITIONS = ['bright', 'dark'] as const;
export type Condition = (typeof CONDITIONS)[number];

/** Valve shapes the renderer knows. */
export const VALVE_TYPES = ['handwheel', 'gate', 'butterfly'] as const;
export type ValveType = (typeof VALVE_TYPES)[number];

const nonNeg = (what: string) => z.number({ error: `${what} must be a number` }).min(0, { error: `${what} must be >= 0` });
const unit = (what: string) => nonNeg(what).max(1, { error: `${what} must be at most 1` });

const rgb = (what: string) =>
  z.tuple([nonNeg(`${what}[0] (red)`), nonNeg(`${what}[1] (green)`), nonNeg(`${what}[2] (blue)`)], {
    error: `${what} must be three numbers [r, g, b]`,
  });

/** A [min, max] pair with min <= max. */
const range = (what: string, min: number, int = false) => {
  const n = int
    ? z.number().int({ error: `${what} must hold whole numbers` }).min(min, { error: `${what} must be >= ${min}` })
    : z.number().min(min, { error: `${what} must be >= ${min}` });
  return z
    .tuple([n, n], { error: `${what} must be a [min, max] pair` })
    .refine(([a, b]) => a <= b, { error: `${what}: min must not exceed max` });
};

const water = z
  .strictObject({
    /** Attenuation coefficient per metre for [r, g, b]; red is absorbed fastest. */
    beta: rgb('water.beta').default([0.4, 0.1, 0.16]),
    /** Camera-to-object distance range in metres. */
    distance: range('water.distance', 0.1).default([0.7, 3]),
  })
  .prefault({});

const bright = z
  .strictObject({
    /** B_inf: colour of the veiling light far away (linear RGB, 0..1). */
    backscatter: rgb('bright.backscatter').default([0.04, 0.15, 0.19]),
    /** Strength of the even light from above (sun / flood lights). */
    illumination: nonNeg('bright.illumination').default(1.4),
    /** Share of light arriving from all directions. */
    ambient: nonNeg('bright.ambient').default(0.2),
    /** Camera gain: 'auto' exposes for `exposureTarget`; a number fixes it. */
    exposure: z
      .union([z.literal('auto'), nonNeg('bright.exposure')], { error: "bright.exposure must be 'auto' or a number >= 0" })
      .default('auto'),
    /** Auto-exposure target: mean linear brightness the camera aims for. */
    exposureTarget: unit('bright.exposureTarget').default(0.2),
    /** Darkening of the corners, 0 = none, 1 = black corners. */
    vignetting: unit('bright.vignetting').default(0.1),
    /** Marine snow particles per 10,000 pixels. */
    marineSnow: nonNeg('bright.marineSnow').default(1),
    /** Sensor read noise (standard deviation, linear 0..1). */
    noise: nonNeg('bright.noise').default(0.004),
  })
  .prefault({});

const laser = z
  .strictObject({
    /** How many laser lines an image gets, [min, max]. */
    count: range('dark.laser.count', 0, true).default([1, 3]),
    /** Laser colour (linear RGB); a saturated green by default. */
    colour: rgb('dark.laser.colour').default([0.12, 1, 0.18]),
    /** Half width of the line core as a fraction of image height. */
    width: nonNeg('dark.laser.width').default(0.0035),
    /** Radius of the glow halo from scattering, fraction of image height. */
    glowRadius: nonNeg('dark.laser.glowRadius').default(0.035),
    /** Strength of the glow halo relative to the line. */
    glow: nonNeg('dark.laser.glow').default(0.5),
    /** Radiance of the line on a white surface (well above 1 saturates the sensor). */
    intensity: nonNeg('dark.laser.intensity').default(6),
    /** Strength of the specular spots where the line crosses shiny objects. */
    specular: nonNeg('dark.laser.specular').default(8),
  })
  .prefault({});

const dark = z
  .strictObject({
    /** B_inf in the dark: dim, green from the scattered laser light. */
    backscatter: rgb('dark.backscatter').default([0.03, 0.12, 0.09]),
    /** Weak light arriving from all directions. */
    ambient: nonNeg('dark.ambient').default(0.025),
    /** The artificial lamp beside the camera. */
    lamp: z
      .strictObject({
        /** Radiant intensity (irradiance at 1 m on the cone axis). */
        intensity: nonNeg('dark.lamp.intensity').default(0.45),
        /** Half angle of the light cone in degrees. */
        cone: z.number().gt(0, { error: 'dark.lamp.cone must be > 0 degrees' }).max(89, { error: 'dark.lamp.cone must be < 90 degrees' }).default(28),
        /** How fast light falls off outside the cone (higher = sharper edge). */
        falloff: nonNeg('dark.lamp.falloff').default(1.5),
      })
      .prefault({}),
    /** Fixed exposure (gain) of the camera in the dark. */
    exposure: nonNeg('dark.exposure').default(1.15),
    /** Darkening of the corners, 0 = none, 1 = black corners. */
    vignetting: unit('dark.vignetting').default(0.55),
    laser,
    /** Marine snow particles per 10,000 pixels. */
    marineSnow: nonNeg('dark.marineSnow').default(12),
    /** Sensor read noise (standard deviation, linear 0..1). */
    noise: nonNeg('dark.noise').default(0.008),
  })
  .prefault({});

const scene = z
  .strictObject({
    /** Number of pipes per scene, [min, max]. */
    pipes: range('scene.pipes', 1, true).default([1, 3]),
    /** Number of valves per scene, [min, max]. */
    valves: range('scene.valves', 0, true).default([1, 2]),
    /** Valve shapes to draw from. */
    valveTypes: z
      .array(z.enum(VALVE_TYPES, { error: `scene.valveTypes entries must be one of ${VALVE_TYPES.join(', ')}` }))
      .min(1, { error: 'scene.valveTypes must name at least one valve type' })
      .default([...VALVE_TYPES]),
    /** Probability that an object is rusted. */
    rust: unit('scene.rust').default(0.4),
    /** Probability that an object carries marine growth. */
    growth: unit('scene.growth').default(0.35),
    /** Probability that a pipe is bent. */
    bend: unit('scene.bend').default(0.35),
    /** What lies behind the objects. */
    background: z
      .enum(['seabed', 'tank', 'mixed'], { error: "scene.background must be 'seabed', 'tank' or 'mixed'" })
      .default('mixed'),
    /** Rocks on the seabed, [min, max]. */
    rocks: range('scene.rocks', 0, true).default([2, 7]),
  })
  .prefault({});

const splits = z
  .strictObject({
    train: unit('splits.train').default(0.7),
    val: unit('splits.val').default(0.15),
    test: unit('splits.test').default(0.15),
  })
  .prefault({})
  .refine((s) => Math.abs(s.train + s.val + s.test - 1) < 1e-6, { error: 'splits.train + splits.val + splits.test must add up to 1' });

/** Params of the synth stage; `synthParams.parse({})` gives the defaults. */
export const synthParams = z.strictObject({
  /** Output folder (repo-relative). */
  out: z.string().min(1, { error: 'out must name a folder' }).default('data/synth'),
  /** Seed of every random choice; same seed and params give byte-identical files. */
  seed: z.number().int({ error: 'seed must be a whole number' }).min(0, { error: 'seed must be >= 0' }).max(2 ** 32 - 1).default(1),
  width: z.number().int({ error: 'width must be a whole number of pixels' }).min(16, { error: 'width must be at least 16 pixels' }).max(4096).default(128),
  height: z.number().int({ error: 'height must be a whole number of pixels' }).min(16, { error: 'height must be at least 16 pixels' }).max(4096).default(128),
  /** Images per condition. */
  count: z.number().int({ error: 'count must be a whole number' }).min(1, { error: 'count must be at least 1 image' }).max(1_000_000).default(160),
  splits,
  conditions: z
    .array(z.enum(CONDITIONS, { error: `conditions entries must be one of ${CONDITIONS.join(', ')}` }))
    .min(1, { error: 'conditions must name at least one condition' })
    .refine((c) => new Set(c).size === c.length, { error: 'conditions must not repeat a condition' })
    .default([...CONDITIONS]),
  /** Render the same scene geometry under every condition. */
  paired: z.boolean().default(true),
  jpegQuality: z.number().int().min(1, { error: 'jpegQuality must be 1..100' }).max(100, { error: 'jpegQuality must be 1..100' }).default(90),
  /** Rows of the contact sheet `<out>/preview.png` (0 = none). */
  preview: z.number().int().min(0).max(64).default(6),
  camera: z
    .strictObject({
      /** Vertical field of view in degrees. */
      fov: z.number().gt(5, { error: 'camera.fov must be > 5 degrees' }).lt(150, { error: 'camera.fov must be < 150 degrees' }).default(60),
      /** Optical blur (Gaussian sigma in pixels). */
      blur: nonNeg('camera.blur').default(0.5),
    })
    .prefault({}),
  water,
  bright,
  dark,
  scene,
});

/** Parsed params (all defaults filled in). */
export type SynthParams = z.infer<typeof synthParams>;
export type BrightParams = SynthParams['bright'];
export type DarkParams = SynthParams['dark'];
export type SceneParams = SynthParams['scene'];
