import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { crfClasses, crfMarginals, crfParamsSchema, type CrfParams } from '../../stages/lib/tf/crf.ts';
import { Rng } from '../../stages/lib/tf/rng.ts';

/** The CRF as its formula reads: every pixel against every other in its window, the kernel recomputed each time. */
function referenceMarginals(logits: Float32Array, rgb: Uint8Array, w: number, h: number, C: number, p: CrfParams): Float64Array {
  const n = w * h;
  const kernel = (i: number, j: number): number => {
    const dy = Math.floor(j / w) - Math.floor(i / w);
    const dx = (j % w) - (i % w);
    const d2 = dy * dy + dx * dx;
    let c2 = 0;
    for (let k = 0; k < 3; k++) c2 += (rgb[3 * i + k]! - rgb[3 * j + k]!) ** 2;
    const a = p.appearance;
    const s = p.smoothness;
    return a.weight * Math.exp(-d2 / (2 * a.spatial ** 2) - c2 / (2 * a.colour ** 2)) + s.weight * Math.exp(-d2 / (2 * s.spatial ** 2));
  };
  const softmax = (msg: Float64Array): Float64Array => {
    const q = new Float64Array(n * C);
    for (let i = 0; i < n; i++) {
      const e = Array.from({ length: C }, (_, c) => Math.exp(logits[i * C + c]! + msg[i * C + c]!));
      const s = e.reduce((x, y) => x + y, 0);
      for (let c = 0; c < C; c++) q[i * C + c] = e[c]! / s;
    }
    return q;
  };
  let q = softmax(new Float64Array(n * C));
  for (let it = 0; it < p.iterations; it++) {
    const msg = new Float64Array(n * C);
    for (let i = 0; i < n; i++) {
      const y = Math.floor(i / w);
      const x = i % w;
      for (let yy = Math.max(0, y - p.radius); yy <= Math.min(h - 1, y + p.radius); yy++) {
        for (let xx = Math.max(0, x - p.radius); xx <= Math.min(w - 1, x + p.radius); xx++) {
          const j = yy * w + xx;
          if (j === i) continue;
          const k = kernel(i, j);
          for (let c = 0; c < C; c++) msg[i * C + c]! += k * q[j * C + c]!;
        }
      }
    }
    q = softmax(msg);
  }
  return q;
}

function argmax(v: ArrayLike<number>, C: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < v.length / C; i++) {
    let b = 0;
    for (let c = 1; c < C; c++) if (v[i * C + c]! > v[i * C + b]!) b = c;
    out.push(b);
  }
  return out;
}

describe('CRF (stages/lib/tf/crf.ts)', () => {
  it('matches the formula computed pair by pair, at the borders too (a window wider than the image)', () => {
    const rng = new Rng(3);
    for (const [w, h, C, radius] of [
      [9, 7, 3, 2],
      [5, 4, 2, 6],
    ] as const) {
      const rgb = Uint8Array.from({ length: w * h * 3 }, () => rng.int(256));
      const logits = Float32Array.from({ length: w * h * C }, () => 4 * (rng.next() - 0.5));
      const p = crfParamsSchema.parse({ iterations: 4, radius, appearance: { weight: 2, spatial: 2, colour: 40 }, smoothness: { weight: 0.7, spatial: 1.5 } });
      const got = crfMarginals(logits, rgb, w, h, C, p);
      const want = referenceMarginals(logits, rgb, w, h, C, p);
      for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
    }
  });

  it('with both weights 0 is the softmax of the scores, and its classes their argmax', () => {
    const rng = new Rng(5);
    const logits = Float32Array.from({ length: 6 * 6 * 3 }, () => rng.next() * 6 - 3);
    const rgb = Uint8Array.from({ length: 6 * 6 * 3 }, () => rng.int(256));
    const p = crfParamsSchema.parse({ appearance: { weight: 0 }, smoothness: { weight: 0 } });
    expect(Array.from(crfClasses(logits, rgb, 6, 6, 3, p))).toEqual(argmax(logits, 3));
    const q = crfMarginals(logits, rgb, 6, 6, 3, p);
    const z = Math.exp(logits[0]!) + Math.exp(logits[1]!) + Math.exp(logits[2]!);
    expect(q[0]).toBeCloseTo(Math.exp(logits[0]!) / z, 6);
  });

  it('moves a blurred, too-large predicted boundary onto the colour edge of a real JPEG', async () => {
    // A bright disc of radius 10 on a dark, noisy background, through a JPEG encoder and decoder.
    const S = 48;
    const R = 10;
    const rng = new Rng(9);
    const raw = Buffer.alloc(S * S * 3);
    const truth: number[] = [];
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const inside = (y - 24) ** 2 + (x - 22) ** 2 <= R * R;
        truth.push(inside ? 1 : 0);
        const v = inside ? [200, 190, 150] : [30, 60, 80];
        for (let k = 0; k < 3; k++) raw[(y * S + x) * 3 + k] = Math.max(0, Math.min(255, v[k]! + rng.int(31) - 15));
      }
    }
    const jpeg = await sharp(raw, { raw: { width: S, height: S, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
    const rgb = new Uint8Array(await sharp(jpeg).raw().toBuffer());
    // A model's scores: the disc 3 pixels too large and 2 pixels off centre, soft at its edge (a coarse decoder's blur).
    const logits = new Float32Array(S * S * 2);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const d = Math.hypot(y - 24, x - 24) - (R + 3);
        logits[(y * S + x) * 2 + 1] = -d / 2;
      }
    }
    const wrong = (cls: ArrayLike<number>): number => truth.filter((t, i) => t !== cls[i]).length;
    const before = wrong(argmax(logits, 2));
    const after = wrong(crfClasses(logits, rgb, S, S, 2, crfParamsSchema.parse({})));
    expect(before).toBeGreaterThan(100);
    expect(after).toBeLessThan(before / 4);
    // The colours do it: with a colour sigma so wide that every pair looks alike, plain smoothing shrinks the
    // disc a little but leaves most of the wrong ring (here 200 wrong pixels, 9 after the CRF, 94 colour-blind).
    const blind = wrong(crfClasses(logits, rgb, S, S, 2, crfParamsSchema.parse({ appearance: { colour: 1e6 } })));
    expect(blind).toBeGreaterThan(5 * after);
  });

  it('refuses scores or colours that do not fit the size, and settings out of range', () => {
    const p = crfParamsSchema.parse({});
    expect(() => crfMarginals(new Float32Array(10), new Uint8Array(12), 2, 2, 3, p)).toThrow(/10 scores for 2x2 pixels and 3 classes/);
    expect(() => crfMarginals(new Float32Array(12), new Uint8Array(11), 2, 2, 3, p)).toThrow(/11 colour values/);
    expect(crfParamsSchema.safeParse({ radius: 0 }).success).toBe(false);
    expect(crfParamsSchema.safeParse({ appearance: { colour: 0 } }).success).toBe(false);
    expect(crfParamsSchema.safeParse({ iteration: 5 }).success).toBe(false);
    expect(p).toEqual({ iterations: 5, radius: 5, appearance: { weight: 3, spatial: 5, colour: 10 }, smoothness: { weight: 1, spatial: 1 } });
  });
});
