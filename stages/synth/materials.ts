/**
 * Surface materials of pipes, valves and rocks: a base colour worn by paint
 * wear, rust patches and marine growth, evaluated from surface coordinates
 * (in image-height units) so the texture sticks to the object.
 */
import { cellHash, fbm } from './noise.ts';
import type { Rng } from './prng.ts';

export type RGB = [number, number, number];

export interface Material {
  base: RGB;
  /** Share of the surface covered by rust (0 = none). */
  rust: number;
  /** Share covered by marine growth (0 = none). */
  growth: number;
  /** Texture scale: noise cells per image height. */
  scale: number;
  seed: number;
  spec: number;
  shininess: number;
}

/** Paint colours of pipes (linear RGB): yellow, grey, black, orange, white, green, blue, brown. */
const PIPE_PAINTS: RGB[] = [
  [0.62, 0.45, 0.05],
  [0.32, 0.33, 0.33],
  [0.06, 0.06, 0.06],
  [0.7, 0.22, 0.04],
  [0.62, 0.62, 0.58],
  [0.12, 0.26, 0.1],
  [0.08, 0.16, 0.36],
  [0.25, 0.16, 0.09],
];

/** Valve bodies: red, blue, grey cast iron, black, yellow, green, bronze. */
const VALVE_PAINTS: RGB[] = [
  [0.55, 0.05, 0.04],
  [0.05, 0.12, 0.42],
  [0.2, 0.2, 0.21],
  [0.05, 0.05, 0.05],
  [0.65, 0.48, 0.04],
  [0.1, 0.3, 0.14],
  [0.42, 0.26, 0.1],
];

/** Hand wheels: red, black, yellow, steel. */
const WHEEL_PAINTS: RGB[] = [
  [0.6, 0.04, 0.03],
  [0.05, 0.05, 0.05],
  [0.7, 0.5, 0.03],
  [0.45, 0.45, 0.46],
];

const jitter = (rng: Rng, c: RGB, amount: number): RGB =>
  c.map((v) => Math.min(0.95, Math.max(0.01, v * (1 + rng.range(-amount, amount))))) as RGB;

/** A new material with a paint colour from `palette`. */
export function makeMaterial(
  rng: Rng,
  kind: 'pipe' | 'valve' | 'wheel',
  rustP: number,
  growthP: number,
): Material {
  const palette = kind === 'pipe' ? PIPE_PAINTS : kind === 'valve' ? VALVE_PAINTS : WHEEL_PAINTS;
  const rusty = rng.chance(rustP);
  const grown = rng.chance(growthP);
  return {
    base: jitter(rng, rng.pick(palette), 0.25),
    rust: rusty ? rng.range(0.25, 0.8) : rng.range(0, 0.08),
    growth: grown ? rng.range(0.2, 0.7) : 0,
    scale: rng.range(14, 30),
    seed: rng.int(0, 2 ** 31),
    spec: rng.range(0.15, 0.5),
    shininess: rng.range(12, 40),
  };
}

/** Rock / stone material: greys and browns that overlap the pipes' colours. */
export function rockMaterial(rng: Rng, tone: RGB): Material {
  return {
    base: jitter(rng, tone, 0.35),
    rust: 0,
    growth: rng.chance(0.5) ? rng.range(0.1, 0.5) : 0,
    scale: rng.range(25, 50),
    seed: rng.int(0, 2 ** 31),
    spec: 0.03,
    shininess: 4,
  };
}

const RUST_DARK: RGB = [0.16, 0.05, 0.015];
const RUST_LIGHT: RGB = [0.45, 0.17, 0.04];
const GROWTH_DARK: RGB = [0.06, 0.08, 0.02];
const GROWTH_LIGHT: RGB = [0.22, 0.26, 0.08];

/**
 * Albedo of `m` at surface coordinates (u, v) into out[o..o+2]; `up` (0..1)
 * says how much the surface faces up, where growth and sediment settle.
 * Returns how much the spot is covered (rust or growth), which dulls the shine.
 */
export function albedoAt(m: Material, u: number, v: number, up: number, out: Float32Array, o: number): number {
  const x = u * m.scale;
  const y = v * m.scale;
  // Paint wear: slow, soft variation of the base colour.
  const wear = 0.8 + 0.4 * fbm(x * 0.5, y * 0.5, m.seed, 3);
  let r = m.base[0] * wear;
  let g = m.base[1] * wear;
  let b = m.base[2] * wear;
  let cover = 0;
  if (m.rust > 0) {
    const n = fbm(x, y, m.seed ^ 0x1234567, 4);
    const t = smoothBand(n, 1 - m.rust, 0.08);
    if (t > 0) {
      const k = fbm(x * 3.1, y * 3.1, m.seed ^ 0x2345671, 2);
      const sr = RUST_DARK[0] + (RUST_LIGHT[0] - RUST_DARK[0]) * k;
      const sg = RUST_DARK[1] + (RUST_LIGHT[1] - RUST_DARK[1]) * k;
      const sb = RUST_DARK[2] + (RUST_LIGHT[2] - RUST_DARK[2]) * k;
      r += (sr - r) * t;
      g += (sg - g) * t;
      b += (sb - b) * t;
      cover = t;
    }
  }
  if (m.growth > 0) {
    const n = fbm(x * 0.8 + 40, y * 0.8, m.seed ^ 0x3456712, 4) + 0.25 * (up - 0.5);
    const t = smoothBand(n, 1 - m.growth, 0.06);
    if (t > 0) {
      // Speckled: barnacles and weed are lumpy at a fine scale.
      const s = cellHash(Math.floor(x * 4), Math.floor(y * 4), m.seed) * 0.6 + 0.4 * fbm(x * 2, y * 2, m.seed ^ 77, 2);
      const sr = GROWTH_DARK[0] + (GROWTH_LIGHT[0] - GROWTH_DARK[0]) * s;
      const sg = GROWTH_DARK[1] + (GROWTH_LIGHT[1] - GROWTH_DARK[1]) * s;
      const sb = GROWTH_DARK[2] + (GROWTH_LIGHT[2] - GROWTH_DARK[2]) * s;
      r += (sr - r) * t;
      g += (sg - g) * t;
      b += (sb - b) * t;
      cover = Math.max(cover, t);
    }
  }
  out[o] = r;
  out[o + 1] = g;
  out[o + 2] = b;
  return cover;
}

/** 0 below `edge`, 1 above `edge + soft`, smooth between. */
function smoothBand(x: number, edge: number, soft: number): number {
  const t = Math.min(1, Math.max(0, (x - edge) / soft));
  return t * t * (3 - 2 * t);
}
