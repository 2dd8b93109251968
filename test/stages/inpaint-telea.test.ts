/**
 * Our Telea inpainting against opencv.js's cv.inpaint(TELEA) on the same
 * inputs. Not an exact match by design: our sums run in double where OpenCV
 * rounds to float every step (rounding them too reproduces opencv.js bit for
 * bit but is slower than opencv.js in V8), so a few pixels differ by a few
 * grey levels. The bounds below say how close.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { renderDarkScene } from '../../bench/image-scene.ts';
import { inpaintTelea } from '../../stages/lib/image/inpaint-telea.ts';
import { grayFromMat, matFromGray, matFromRgb, rgbFromMat } from '../../stages/lib/image/mat.ts';
import { loadOpenCv, MatScope, type CV } from '../../stages/lib/image/opencv.ts';
import type { GrayImage, RgbImage } from '../../stages/lib/image/types.ts';

let cv: CV;
beforeAll(async () => {
  cv = await loadOpenCv();
});

function opencvTelea(img: RgbImage, mask: GrayImage, radius: number): RgbImage {
  const s = new MatScope();
  try {
    const out = s.add(new cv.Mat());
    cv.inpaint(s.add(matFromRgb(cv, img)), s.add(matFromGray(cv, mask)), out, radius, cv.INPAINT_TELEA);
    return rgbFromMat(out);
  } finally {
    s.free();
  }
}

/** Mean and max absolute difference over all channels, and the share of differing values. */
function compare(a: RgbImage, b: RgbImage): { mean: number; max: number; share: number } {
  let sum = 0;
  let max = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    sum += d;
    if (d > 0) n++;
    if (d > max) max = d;
  }
  return { mean: sum / a.data.length, max, share: n / a.data.length };
}

/** Seeded LCG in [0, 1). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** The study's mask on a rendered scene: grey > 100, dilated by a 15x20 ellipse 3 times (opencv.js). */
function studyMask(img: RgbImage): GrayImage {
  const s = new MatScope();
  try {
    const grey = s.add(new cv.Mat());
    const raw = s.add(new cv.Mat());
    const mask = s.add(new cv.Mat());
    cv.cvtColor(s.add(matFromRgb(cv, img)), grey, cv.COLOR_RGB2GRAY);
    cv.threshold(grey, raw, 100, 255, cv.THRESH_BINARY);
    const k = s.add(cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(15, 20)));
    cv.dilate(raw, mask, k, new cv.Point(-1, -1), 3, cv.BORDER_CONSTANT, cv.morphologyDefaultBorderValue());
    return grayFromMat(mask);
  } finally {
    s.free();
  }
}

describe('inpaintTelea', () => {
  it('matches opencv.js on a rendered 640x480 laser scene with the study mask and radius 15', () => {
    const img = renderDarkScene(2);
    const mask = studyMask(img);
    const filled = mask.data.reduce((a, v) => a + (v ? 1 : 0), 0);
    expect(filled / mask.data.length).toBeGreaterThan(0.1); // a large mask, as in the benchmark
    const ours = inpaintTelea(img, mask, 15);
    const theirs = opencvTelea(img, mask, 15);
    const d = compare(ours, theirs);
    expect(d.mean).toBeLessThan(0.05);
    expect(d.max).toBeLessThanOrEqual(4);
    expect(d.share).toBeLessThan(0.02);
    // and it did change the masked pixels (the laser is gone): a bright line pixel is now dark
    let bright = 0;
    for (let i = 0; i < mask.data.length; i++) if (mask.data[i] && ours.data[i * 3 + 1]! > 150) bright++;
    expect(bright).toBe(0);
  });

  it('matches opencv.js on small random images and masks, edges and corners included', () => {
    const rand = lcg(7);
    for (let t = 0; t < 25; t++) {
      const w = 2 + Math.floor(rand() * 30);
      const h = 2 + Math.floor(rand() * 30);
      const { img, mask } = randomCase(rand, w, h);
      const radius = 1 + Math.floor(rand() * 8);
      const d = compare(inpaintTelea(img, mask, radius), opencvTelea(img, mask, radius));
      expect(d.mean, `case ${t}: ${w}x${h}, radius ${radius}`).toBeLessThan(0.5);
      expect(d.max, `case ${t}: ${w}x${h}, radius ${radius}`).toBeLessThanOrEqual(8);
    }
  });

  it('matches opencv.js with discs wider than 64 pixels (radius 40) on a 100x70 image', () => {
    // the sums walk each disc row's known pixels from 32-bit words of flags: rows spanning several words, cut at the edges
    const rand = lcg(11);
    const w = 100;
    const h = 70;
    const img: RgbImage = { data: new Uint8Array(w * h * 3), width: w, height: h };
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++) img.data[(y * w + x) * 3 + c] = Math.min(255, Math.floor(30 + 2 * x + y * c + rand() * 30));
    const mask: GrayImage = { data: new Uint8Array(w * h), width: w, height: h };
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (Math.abs(x - 1.3 * y - 5) < 6 || rand() < 0.05) mask.data[y * w + x] = 255;
    const d = compare(inpaintTelea(img, mask, 40), opencvTelea(img, mask, 40));
    expect(d.mean).toBeLessThan(0.05);
    expect(d.max).toBeLessThanOrEqual(4);
  });

  it('fills a hole in a flat image with the flat colour, leaves the rest and the input alone', () => {
    const w = 20;
    const h = 16;
    const img: RgbImage = { data: new Uint8Array(w * h * 3), width: w, height: h };
    for (let i = 0; i < w * h; i++) img.data.set([90, 140, 60], i * 3);
    const mask: GrayImage = { data: new Uint8Array(w * h), width: w, height: h };
    for (let y = 0; y < 6; y++) for (let x = 0; x < 5; x++) mask.data[y * w + x] = 1; // touches the top-left corner
    for (let y = 5; y < 9; y++) for (let x = 8; x < 14; x++) mask.data[y * w + x] = 255;
    for (let i = 0; i < w * h; i++) if (mask.data[i]) img.data.set([255, 255, 255], i * 3);
    const before = img.data.slice();
    const out = inpaintTelea(img, mask, 3);
    expect(img.data).toEqual(before);
    for (let i = 0; i < w * h; i++) expect(Array.from(out.data.subarray(i * 3, i * 3 + 3)), `pixel ${i}`).toEqual([90, 140, 60]);
  });

  it('returns an unchanged copy for an empty mask and rejects a mask of another size', () => {
    const img: RgbImage = { data: Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => i), width: 4, height: 3 };
    const out = inpaintTelea(img, { data: new Uint8Array(12), width: 4, height: 3 }, 5);
    expect(out.data).toEqual(img.data);
    expect(out.data).not.toBe(img.data);
    expect(() => inpaintTelea(img, { data: new Uint8Array(6), width: 3, height: 2 }, 5)).toThrow(/mask is 3x2/);
  });
});

/** A smooth-ish random image (a gradient plus noise, so inpainting has something to follow) and a random mask, edges included. */
function randomCase(rand: () => number, w: number, h: number): { img: RgbImage; mask: GrayImage } {
  const img: RgbImage = { data: new Uint8Array(w * h * 3), width: w, height: h };
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) img.data[(y * w + x) * 3 + c] = Math.min(255, Math.floor(40 + 5 * x + 3 * y * c + rand() * 20));
  const mask: GrayImage = { data: new Uint8Array(w * h), width: w, height: h };
  const density = 0.1 + rand() * 0.4;
  for (let i = 0; i < w * h; i++) if (rand() < density) mask.data[i] = 255;
  return { img, mask };
}

describe('inpaintTelea: the WebAssembly disc sum (wasm/telea-sum.c) against the JavaScript one', () => {
  it('gives the same bits on rendered 640x480 laser scenes with the study mask, and results outlive the next call', () => {
    const firsts: Uint8Array[] = [];
    for (const seed of [3, 4]) {
      const img = renderDarkScene(seed);
      const mask = studyMask(img);
      const wasm = inpaintTelea(img, mask, 15);
      firsts.push(wasm.data);
      const js = inpaintTelea(img, mask, 15, { kernel: 'js' });
      expect(Buffer.from(wasm.data).equals(Buffer.from(js.data)), `scene ${seed}`).toBe(true);
      expect(compare(wasm, img).share).toBeGreaterThan(0.05); // it did fill the mask
    }
    // the kernel's memory is reused by every call: what a call returned must not change with the next
    const again = inpaintTelea(renderDarkScene(3), studyMask(renderDarkScene(3)), 15);
    expect(Buffer.from(again.data).equals(Buffer.from(firsts[0]!))).toBe(true);
  });

  it('gives the same bits on random images of changing sizes and radii 1-40 (memory grown and reused)', () => {
    const rand = lcg(23);
    const sizes = [[31, 7], [300, 200], [2, 2], [120, 90], [64, 65], [1, 40]] as const;
    for (const [t, [w, h]] of sizes.entries()) {
      for (const radius of [1, 5, 40]) {
        const { img, mask } = randomCase(rand, w, h);
        const wasm = inpaintTelea(img, mask, radius);
        const js = inpaintTelea(img, mask, radius, { kernel: 'js' });
        expect(Buffer.from(wasm.data).equals(Buffer.from(js.data)), `case ${t}: ${w}x${h}, radius ${radius}`).toBe(true);
      }
    }
  });
});
