/**
 * Stateless value noise and fractal sums of it, hashed from integer lattice
 * points, so any texel can be evaluated in any order by any worker.
 */
import { mix32 } from './prng.ts';

function lattice(ix: number, iy: number, seed: number): number {
  return mix32(Math.imul(ix, 0x27d4eb2d) ^ Math.imul(iy, 0x165667b1) ^ seed) / 4294967296;
}

const smooth = (t: number): number => t * t * (3 - 2 * t);

/** Smooth value noise in [0, 1) with unit lattice spacing. */
export function valueNoise(x: number, y: number, seed: number): number {
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const fx = smooth(x - ix);
  const fy = smooth(y - iy);
  const a = lattice(ix, iy, seed);
  const b = lattice(ix + 1, iy, seed);
  const c = lattice(ix, iy + 1, seed);
  const d = lattice(ix + 1, iy + 1, seed);
  return a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy;
}

/** Fractal sum of `octaves` noise layers (each twice the frequency, half the weight), in [0, 1). */
export function fbm(x: number, y: number, seed: number, octaves = 4): number {
  let sum = 0;
  let amp = 0.5;
  let norm = 0;
  for (let o = 0; o < octaves; o++) {
    sum += amp * valueNoise(x, y, (seed + Math.imul(o, 0x3c6ef372)) | 0);
    norm += amp;
    x = x * 2.03 + 17.1;
    y = y * 2.03 - 9.7;
    amp *= 0.5;
  }
  return sum / norm;
}

/** White noise in [0, 1) for an integer cell (speckles, pebbles). */
export function cellHash(ix: number, iy: number, seed: number): number {
  return lattice(ix, iy, seed ^ 0x5bd1e995);
}
