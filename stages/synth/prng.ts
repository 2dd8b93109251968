/**
 * Deterministic randomness. Every random choice of the renderer comes from
 * here (never Math.random), keyed by (seed, stream ids), so an image depends
 * only on the seed, its index and the params — not on which worker drew it
 * or in which order.
 */

/** 32-bit integer mix (a murmur3 finaliser): spreads nearby inputs far apart. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes a list of integers into one 32-bit seed (order matters, no collisions from concatenation). */
export function hashInts(...xs: number[]): number {
  let h = 0x9e3779b9 ^ xs.length;
  for (const x of xs) h = mix32((h ^ (x | 0)) + 0x7f4a7c15 + (h << 6) + (h >>> 2));
  return h >>> 0;
}

/** A seeded generator with the helpers the scene code needs. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [a, b). */
  range(a: number, b: number): number;
  /** Uniform integer in [a, b] (both inclusive). */
  int(a: number, b: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(xs: readonly T[]): T;
  /** Standard normal (Box-Muller). */
  normal(): number;
}

/** sfc32 generator seeded from `hashInts(...seeds)`. */
export function makeRng(...seeds: number[]): Rng {
  let a = hashInts(...seeds, 1);
  let b = hashInts(...seeds, 2);
  let c = hashInts(...seeds, 3);
  let d = 1;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return {
    next,
    range: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor((hi - lo + 1) * next()),
    chance: (p) => next() < p,
    pick: <T>(xs: readonly T[]): T => {
      const x = xs[Math.floor(next() * xs.length)];
      if (x === undefined) throw new Error('pick from an empty array');
      return x;
    },
    normal: () => {
      const u = 1 - next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
  };
}
