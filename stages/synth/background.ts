/**
 * Backgrounds behind the objects: a seabed seen at an angle (sand, ripples,
 * pebbles, silt) or the wall of a test tank (tiles or concrete, stains,
 * algae film, a floor). Their colours deliberately overlap the objects'
 * colours, as real seabeds do.
 */
import { cellHash, fbm, valueNoise } from './noise.ts';
import type { RGB } from './materials.ts';
import type { GBuffer } from './gbuffer.ts';
import type { Rng } from './prng.ts';

export interface BackgroundSpec {
  kind: 'seabed' | 'tank';
  /** Distance at the top and bottom rows, metres. */
  dTop: number;
  dBottom: number;
  seed: number;
  colourA: RGB;
  colourB: RGB;
  /** Seabed: ripple wave number (per image height) and direction; tank: tile size. */
  ripple: number;
  rippleAngle: number;
  tile: number;
  /** Tank: the row where the wall meets the floor (> 1: no floor in view). */
  floorAt: number;
  /** Share of the surface under silt / algae. */
  silt: number;
}

const SANDS: RGB[] = [
  [0.42, 0.36, 0.24],
  [0.3, 0.28, 0.22],
  [0.22, 0.2, 0.15],
  [0.35, 0.33, 0.3],
  [0.18, 0.2, 0.14],
];
const TANKS: RGB[] = [
  [0.55, 0.6, 0.62],
  [0.35, 0.42, 0.5],
  [0.45, 0.45, 0.42],
  [0.25, 0.3, 0.3],
];

/** Draws a background description. */
export function makeBackground(rng: Rng, kind: 'seabed' | 'tank', dBack: number): BackgroundSpec {
  const palette = kind === 'seabed' ? SANDS : TANKS;
  const a = rng.pick(palette);
  const b = rng.pick(palette);
  const dBottom = dBack;
  return {
    kind,
    dBottom,
    dTop: kind === 'seabed' ? dBottom + rng.range(1.5, 4) : dBottom + rng.range(-0.2, 0.4),
    seed: rng.int(0, 2 ** 31),
    colourA: a,
    colourB: b,
    ripple: rng.range(12, 30),
    rippleAngle: rng.range(-0.6, 0.6),
    tile: rng.range(0.12, 0.3),
    floorAt: rng.chance(0.5) ? rng.range(0.6, 0.95) : 2,
    silt: rng.range(0.1, 0.6),
  };
}

/** Background distance at image row y (image-height units). */
export function backgroundDepth(bg: BackgroundSpec, y: number): number {
  if (bg.kind === 'tank' && y > bg.floorAt) return bg.dBottom * (1 - 0.35 * (y - bg.floorAt));
  const t = Math.max(0, Math.min(1, 1 - y));
  return bg.dBottom + (bg.dTop - bg.dBottom) * t * t;
}

/** Fills every pixel of `gb` with the background (label 0, owner 0). */
export function drawBackground(gb: GBuffer, bg: BackgroundSpec): void {
  const { width: W, height: H } = gb;
  for (let py = 0; py < H; py++) {
    const y = (py + 0.5) / H;
    for (let px = 0; px < W; px++) {
      const x = (px + 0.5) / H;
      const k = py * W + px;
      gb.depth[k] = backgroundDepth(bg, y);
      gb.label[k] = 0;
      gb.owner[k] = 0;
      if (bg.kind === 'seabed') seabed(gb, bg, k, x, y);
      else tank(gb, bg, k, x, y);
    }
  }
}

function put(gb: GBuffer, k: number, r: number, g: number, b: number, n: [number, number, number], spec: number): void {
  gb.albedo[3 * k] = r;
  gb.albedo[3 * k + 1] = g;
  gb.albedo[3 * k + 2] = b;
  const l = Math.hypot(n[0], n[1], n[2]) || 1;
  gb.nx[k] = n[0] / l;
  gb.ny[k] = n[1] / l;
  gb.nz[k] = n[2] / l;
  gb.spec[k] = spec;
  gb.shininess[k] = 4;
}

function seabed(gb: GBuffer, bg: BackgroundSpec, k: number, x: number, y: number): void {
  const s = bg.seed;
  // Perspective: features shrink towards the top of the frame.
  const persp = 0.45 + 0.55 * y;
  const fx = x / persp;
  // A tilted plane: features shrink towards the top, more so vertically.
  const fy = (1.6 * y) / persp;
  const m = fbm(fx * 3, fy * 3, s, 4);
  let r = bg.colourA[0] + (bg.colourB[0] - bg.colourA[0]) * m;
  let g = bg.colourA[1] + (bg.colourB[1] - bg.colourA[1]) * m;
  let b = bg.colourA[2] + (bg.colourB[2] - bg.colourA[2]) * m;
  const ca = Math.cos(bg.rippleAngle);
  const sa = Math.sin(bg.rippleAngle);
  const warp = fbm(fx * 2, fy * 2, s ^ 99, 3) * 3;
  const phase = (fx * sa + fy * ca) * bg.ripple + warp;
  const ripple = Math.sin(phase);
  // Pebbles and shell grit: round stones on a jittered grid, flattened by perspective.
  let shade = 1 + 0.12 * ripple + 0.25 * (fbm(fx * 12, fy * 12, s ^ 5, 3) - 0.5);
  const gx = fx * 28;
  const gy = fy * 28;
  const cx = Math.floor(gx);
  const cy = Math.floor(gy);
  const h = cellHash(cx, cy, s);
  if (h > 0.55) {
    const ox = cx + 0.25 + 0.5 * cellHash(cx, cy, s ^ 1);
    const oy = cy + 0.25 + 0.5 * cellHash(cx, cy, s ^ 2);
    const rad = 0.12 + 0.25 * cellHash(cx, cy, s ^ 3);
    const dd = Math.hypot(gx - ox, gy - oy) / rad;
    if (dd < 1) shade *= h > 0.8 ? 0.55 + 0.3 * dd : 1.25 + 0.35 * (1 - dd);
  }
  // Silt / algae patches: greenish-brown, as dull as rusty or grown-over pipes.
  const silt = fbm(fx * 1.5 + 30, fy * 1.5, s ^ 7, 4);
  const t = Math.max(0, Math.min(1, (silt - (1 - bg.silt)) / 0.1));
  r = (r + (0.1 - r) * t * 0.7) * shade;
  g = (g + (0.13 - g) * t * 0.7) * shade;
  b = (b + (0.06 - b) * t * 0.7) * shade;
  // The seabed faces up; ripples tilt it back and forth.
  const slope = 0.3 * Math.cos(phase);
  put(gb, k, r, g, b, [slope * sa, -0.75 + slope * ca * 0.5, 0.6], 0.02);
}

function tank(gb: GBuffer, bg: BackgroundSpec, k: number, x: number, y: number): void {
  const s = bg.seed;
  const floor = y > bg.floorAt;
  const size = floor ? bg.tile * 0.8 : bg.tile;
  const fy = floor ? (y - bg.floorAt) / (0.3 + (y - bg.floorAt)) + bg.floorAt : y;
  const tx = x / size;
  const ty = fy / size;
  const ix = Math.floor(tx);
  const iy = Math.floor(ty);
  const gu = tx - ix;
  const gv = ty - iy;
  const grout = Math.min(gu, 1 - gu, gv, 1 - gv) < 0.04;
  const tileVar = 0.85 + 0.3 * cellHash(ix, iy, s);
  const m = fbm(x * 4, y * 4, s, 4);
  let r = (bg.colourA[0] + (bg.colourB[0] - bg.colourA[0]) * m) * tileVar;
  let g = (bg.colourA[1] + (bg.colourB[1] - bg.colourA[1]) * m) * tileVar;
  let b = (bg.colourA[2] + (bg.colourB[2] - bg.colourA[2]) * m) * tileVar;
  if (grout) {
    r *= 0.45;
    g *= 0.5;
    b *= 0.5;
  }
  // Stains and algae film, heavier towards the bottom.
  const stain = fbm(x * 2.5 + 11, y * 2.5, s ^ 3, 5) + 0.3 * (y - 0.5);
  const t = Math.max(0, Math.min(1, (stain - (1 - bg.silt)) / 0.12));
  const streak = 0.85 + 0.3 * valueNoise(x * 40, y * 2, s ^ 13);
  r = (r + (0.08 - r) * t) * streak;
  g = (g + (0.12 - g) * t) * streak;
  b = (b + (0.05 - b) * t) * streak;
  put(gb, k, r, g, b, floor ? [0, -0.8, 0.6] : [0, 0, 1], grout ? 0.01 : 0.12);
}
