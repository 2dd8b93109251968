/**
 * dilateBinary against cv.dilate (opencv.js, the reference it replaces for
 * speed): exact equality on random masks, with pixels on the image edges,
 * for ellipses from cv.getStructuringElement of odd and even sizes, other
 * kernels (rectangles, where OpenCV grows the kernel instead of repeating,
 * and ragged shapes with holes) and 0-3 iterations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { dilateBinary, type Kernel } from '../../stages/lib/image/dilate.ts';
import { grayFromMat, matFromGray } from '../../stages/lib/image/mat.ts';
import { loadOpenCv, MatScope, type CV } from '../../stages/lib/image/opencv.ts';
import type { GrayImage } from '../../stages/lib/image/types.ts';

let cv: CV;
beforeAll(async () => {
  cv = await loadOpenCv();
});

/** Seeded LCG in [0, 1). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

function ellipse(w: number, h: number): Kernel {
  const s = new MatScope();
  try {
    return grayFromMat(s.add(cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(w, h))));
  } finally {
    s.free();
  }
}

/** cv.dilate's result as 0/255 (it takes the max, and the random masks hold values 1..255). */
function cvDilate(mask: GrayImage, kernel: Kernel, iterations: number, anchor = { x: -1, y: -1 }): GrayImage {
  const s = new MatScope();
  try {
    const out = s.add(new cv.Mat());
    const k = s.add(matFromGray(cv, kernel));
    const src = s.add(matFromGray(cv, mask));
    cv.dilate(src, out, k, new cv.Point(anchor.x, anchor.y), iterations, cv.BORDER_CONSTANT, cv.morphologyDefaultBorderValue());
    const g = grayFromMat(out);
    return { ...g, data: g.data.map((v) => (v ? 255 : 0)) };
  } finally {
    s.free();
  }
}

/** Sparse random mask (values 1..255, so "non-zero" is what counts), with set pixels forced onto every edge. */
function randomMask(rand: () => number, w: number, h: number, density: number): GrayImage {
  const data = new Uint8Array(w * h);
  for (let i = 0; i < data.length; i++) if (rand() < density) data[i] = 1 + Math.floor(rand() * 255);
  data[Math.floor(rand() * w)] = 200; // top row
  data[(h - 1) * w + Math.floor(rand() * w)] = 7; // bottom row
  data[Math.floor(rand() * h) * w] = 255; // left column
  data[Math.floor(rand() * h) * w + w - 1] = 255; // right column
  return { data, width: w, height: h };
}

/** Index and coordinates of the first differing pixel, for a readable failure. */
function firstDiff(a: GrayImage, b: GrayImage): string {
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return `(${i % a.width}, ${Math.floor(i / a.width)}): ${a.data[i]} vs ${b.data[i]}`;
  return 'none';
}

describe('dilateBinary', () => {
  const sizes: [number, number][] = [
    [15, 20],
    [20, 15],
    [3, 4],
    [4, 3],
    [5, 5],
    [1, 7],
    [7, 1],
    [2, 2],
    [6, 9],
  ];
  for (const [kw, kh] of sizes) {
    it(`equals cv.dilate for the ${kw}x${kh} ellipse, 0-3 iterations, on random masks`, () => {
      const rand = lcg(kw * 100 + kh);
      const kernel = ellipse(kw, kh);
      // widths around word boundaries (31, 32, 33, 64) and narrower than the kernel
      const dims: [number, number][] = [[31, 17], [32, 40], [33, 5], [64, 23], [3, 2], [70, 50], [1, 9]];
      for (const [w, h] of dims) {
        const mask = randomMask(rand, w, h, 0.02 + rand() * 0.05);
        for (let it = 0; it <= 3; it++) {
          const ours = dilateBinary(mask, kernel, it);
          const theirs = cvDilate(mask, kernel, it);
          expect(firstDiff(ours, theirs), `${w}x${h}, ${it} iterations`).toBe('none');
        }
      }
    });
  }

  it('equals cv.dilate for rectangles (OpenCV grows the kernel) and ragged kernels with holes, custom anchors', () => {
    const rand = lcg(99);
    for (let t = 0; t < 30; t++) {
      const kw = 1 + Math.floor(rand() * 9);
      const kh = 1 + Math.floor(rand() * 9);
      const rect = t % 3 === 0;
      const kernel: Kernel = { data: new Uint8Array(kw * kh), width: kw, height: kh };
      for (let i = 0; i < kernel.data.length; i++) kernel.data[i] = rect || rand() < 0.6 ? 1 : 0;
      const anchor = t % 2 === 0 ? { x: Math.floor(rand() * kw), y: Math.floor(rand() * kh) } : undefined;
      const w = 1 + Math.floor(rand() * 80);
      const h = 1 + Math.floor(rand() * 40);
      const mask = randomMask(rand, w, h, rand() * 0.1);
      const iterations = Math.floor(rand() * 4);
      const ours = dilateBinary(mask, kernel, iterations, anchor);
      const theirs = cvDilate(mask, kernel, iterations, anchor);
      expect(firstDiff(ours, theirs), `case ${t}: ${w}x${h}, kernel ${kw}x${kh}, ${iterations} iterations`).toBe('none');
    }
  });

  it('dilates a single pixel into the kernel shape (reflected about the anchor) and leaves the input alone', () => {
    const kernel = ellipse(15, 20);
    const mask: GrayImage = { data: new Uint8Array(40 * 40), width: 40, height: 40 };
    mask.data[20 * 40 + 20] = 255;
    const before = mask.data.slice();
    const out = dilateBinary(mask, kernel, 1);
    expect(mask.data).toEqual(before);
    // dst(p) = OR src(p + k - anchor): the set pixels are 20 - (k - anchor)
    let n = 0;
    for (let y = 0; y < 20; y++)
      for (let x = 0; x < 15; x++) {
        const want = kernel.data[y * 15 + x] ? 255 : 0;
        expect(out.data[(20 - (y - 10)) * 40 + (20 - (x - 7))], `kernel (${x}, ${y})`).toBe(want);
        if (want) n++;
      }
    expect(out.data.reduce((a, v) => a + (v ? 1 : 0), 0)).toBe(n);
  });

  it('returns an empty mask for an empty mask and rejects bad sizes', () => {
    const out = dilateBinary({ data: new Uint8Array(12), width: 4, height: 3 }, ellipse(5, 5), 3);
    expect(Array.from(out.data)).toEqual(new Array(12).fill(0));
    expect(() => dilateBinary({ data: new Uint8Array(5), width: 4, height: 3 }, ellipse(3, 3), 1)).toThrow(/5 bytes for 4x3/);
  });
});
