import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PerItemStage } from '../../src/stage-api.ts';
import { enhance } from '../../stages/enhance/enhance.ts';
import stage from '../../stages/enhance/index.ts';
import { enhanceParams, opSchema, type EnhanceParams, type Op } from '../../stages/enhance/schema.ts';
import { readRgb, writeImage } from '../../stages/lib/image/io.ts';
import { darkChannel, floatMatFromRgb, greyOf, GuidedFilter, guidedFilter } from '../../stages/lib/image/float.ts';
import { lab8Of } from '../../stages/lib/image/mat.ts';
import { loadOpenCv, MatScope, type CV, type Mat } from '../../stages/lib/image/opencv.ts';
import { uciqeJou, uiqmFunie } from '../../stages/lib/image/quality.ts';
import { renderDarkScene } from '../../bench/image-scene.ts';
import type { RgbImage } from '../../stages/lib/image/types.ts';
import { itemCtx, px, setPx, solid, stageCtx, tempDir } from '../fixtures/images/helpers.ts';

let cv: CV;
beforeAll(async () => {
  cv = await loadOpenCv();
});

const op = (o: Record<string, unknown>): Op => opSchema.parse(o);
const run = (img: RgbImage, ...ops: Record<string, unknown>[]) => enhance(cv, img, ops.map(op));

/** A textured test image: every channel varies. */
function textured(w = 24, h = 16): RgbImage {
  const img = solid(w, h, [0, 0, 0]);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) setPx(img, x, y, [(x * 9 + y * 3) % 200 + 20, (x * 5 + y * 11) % 180 + 30, (x * 3 + y * 7) % 150 + 60]);
  return img;
}

function means(img: RgbImage): number[] {
  const s = [0, 0, 0];
  for (let i = 0; i < img.data.length; i++) s[i % 3]! += img.data[i]!;
  return s.map((v) => v / (img.width * img.height));
}

function isGrey(img: RgbImage): boolean {
  for (let i = 0; i < img.data.length; i += 3) if (img.data[i] !== img.data[i + 1] || img.data[i] !== img.data[i + 2]) return false;
  return true;
}

describe('ops', () => {
  it('gamma 1 is the identity; gamma 2 squares', () => {
    const img = textured();
    expect(Array.from(run(img, { op: 'gamma', gamma: 1 }).data)).toEqual(Array.from(img.data));
    const half = solid(2, 2, [128, 0, 255]);
    expect(px(run(half, { op: 'gamma', gamma: 2 }), 0, 0)).toEqual([Math.round((128 / 255) ** 2 * 255), 0, 255]);
  });

  it('the empty op list is the identity', () => {
    const img = textured();
    expect(Array.from(enhance(cv, img, []).data)).toEqual(Array.from(img.data));
  });

  it('Laplacian sharpening leaves flat images alone and overshoots at a step', () => {
    const flat = solid(8, 8, [100, 100, 100]);
    expect(Array.from(run(flat, { op: 'sharpen' }).data)).toEqual(Array.from(flat.data));
    const step = solid(10, 4, [100, 100, 100]);
    for (let y = 0; y < 4; y++) for (let x = 5; x < 10; x++) setPx(step, x, y, [150, 150, 150]);
    const s = run(step, { op: 'sharpen', amount: 1, ksize: 1 });
    // ksize 1 Laplacian at x=4: 150 + 100 - 2*100 = 50 -> 100 - 50 = 50; at x=5: 100 - 2*150 + 150 = -50 -> 200
    expect(px(s, 4, 1)).toEqual([50, 50, 50]);
    expect(px(s, 5, 1)).toEqual([200, 200, 200]);
    expect(px(s, 1, 1)).toEqual([100, 100, 100]);
  });

  it('linear stretch maps the global min..max to 0..255', () => {
    const img = solid(4, 1, [50, 50, 50]);
    setPx(img, 1, 0, [100, 75, 150]);
    setPx(img, 2, 0, [150, 150, 150]);
    const s = run(img, { op: 'stretch' });
    expect(px(s, 0, 0)).toEqual([0, 0, 0]);
    expect(px(s, 2, 0)).toEqual([255, 255, 255]);
    // (100 - 50) / 100 = 0.5 -> 127.5: either rounding is right
    expect(px(s, 1, 0)[0]).toBeGreaterThanOrEqual(127);
    expect(px(s, 1, 0)[0]).toBeLessThanOrEqual(128);
    expect(px(s, 1, 0).slice(1)).toEqual([64, 255]);
  });

  it('levels stretches each channel on its own (clip 0 = min..max)', () => {
    const img = solid(2, 1, [20, 100, 0]);
    setPx(img, 1, 0, [60, 200, 10]);
    const s = run(img, { op: 'levels', clip: 0 });
    expect(px(s, 0, 0)).toEqual([0, 0, 0]);
    expect(px(s, 1, 0)).toEqual([255, 255, 255]);
    // with clipping, a single outlier does not set the range
    const wide = solid(100, 10, [0, 0, 0]);
    for (let i = 0; i < 1000; i++) setPx(wide, i % 100, Math.floor(i / 100), [100 + (i % 50), 100 + (i % 50), 100 + (i % 50)]);
    setPx(wide, 0, 0, [255, 255, 255]);
    const c = run(wide, { op: 'levels', clip: 1 });
    expect(px(c, 50, 0)[0]).toBe(0); // value 100, the 1% low end
    expect(px(c, 49, 0)[0]).toBe(255); // value 149, the top after clipping the outlier
    expect(Math.abs(px(c, 25, 0)[0]! - 130)).toBeLessThanOrEqual(3); // 125 sits in the middle
  });

  it('CLAHE raises contrast of a low-contrast image and keeps grey grey', () => {
    const img = solid(32, 32, [0, 0, 0]);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
      const v = 100 + ((x + y) % 8);
      setPx(img, x, y, [v, v, v]);
    }
    const out = run(img, { op: 'clahe', clipLimit: 4, tiles: 2 });
    const spread = (im: RgbImage) => Math.max(...im.data) - Math.min(...im.data);
    expect(spread(out)).toBeGreaterThan(spread(img));
    for (let i = 0; i < out.data.length; i += 3) {
      expect(Math.abs(out.data[i]! - out.data[i + 1]!)).toBeLessThanOrEqual(2);
      expect(Math.abs(out.data[i + 2]! - out.data[i + 1]!)).toBeLessThanOrEqual(2);
    }
  });

  it('gray-world white balance keeps grey images grey and equalises channel means', () => {
    const grey = solid(6, 6, [0, 0, 0]);
    for (let i = 0; i < 36; i++) setPx(grey, i % 6, Math.floor(i / 6), [i * 7, i * 7, i * 7]);
    const g = run(grey, { op: 'whiteBalance' });
    expect(isGrey(g)).toBe(true);
    expect(Array.from(g.data)).toEqual(Array.from(grey.data));
    const tinted = solid(4, 4, [40, 120, 90]);
    setPx(tinted, 0, 0, [60, 160, 100]);
    const m = means(run(tinted, { op: 'whiteBalance' }));
    expect(Math.abs(m[0]! - m[1]!)).toBeLessThan(1);
    expect(Math.abs(m[2]! - m[1]!)).toBeLessThan(1);
  });

  it('red compensation follows Ancuti et al.: Ir + a (mean G - mean R)(1 - Ir) Ig', () => {
    const img = solid(3, 3, [51, 153, 102]); // 0.2, 0.6, 0.4
    const out = run(img, { op: 'redCompensation' });
    const r = 0.2 + 1 * (0.6 - 0.2) * (1 - 0.2) * 0.6;
    expect(px(out, 1, 1)).toEqual([Math.round(r * 255), 153, 102]);
    const withBlue = run(img, { op: 'redCompensation', alpha: 0.5, blue: true });
    const b = 0.4 + 0.5 * (0.6 - 0.4) * (1 - 0.4) * 0.6;
    expect(px(withBlue, 1, 1)[2]).toBe(Math.round(b * 255));
    const grey = solid(3, 3, [80, 80, 80]);
    expect(Array.from(run(grey, { op: 'redCompensation' }).data)).toEqual(Array.from(grey.data));
  });

  /** A hazy image: left third pure veiling light A, the rest J t + A (1 - t). J has a zero channel in every 3x3 patch. */
  function hazy(A: number[], t: number[], zeroChannels: number[]): { img: RgbImage; J: RgbImage } {
    const w = 36;
    const h = 12;
    const J = solid(w, h, [0, 0, 0]);
    const img = solid(w, h, [0, 0, 0]);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const j = [0.3 + 0.4 * ((x * 7) % 5) / 4, 0.5 + 0.3 * ((y * 3) % 4) / 3, 0.2 + 0.5 * ((x + y) % 3) / 2];
        for (const c of zeroChannels) j[c] = 0;
        setPx(J, x, y, j.map((v) => Math.round(v * 255)) as [number, number, number]);
        const i = x < 12 ? A : j.map((v, c) => v * t[c]! + A[c]! * (1 - t[c]!));
        setPx(img, x, y, i.map((v) => Math.round(v * 255)) as [number, number, number]);
      }
    }
    return { img, J };
  }

  function expectRecovered(out: RgbImage, J: RgbImage, tol: number, fromX = 16) {
    for (let y = 1; y < J.height - 1; y++) {
      for (let x = fromX; x < J.width - 1; x++) {
        const got = px(out, x, y);
        px(J, x, y).forEach((v, c) => expect(Math.abs(got[c]! - v), `(${x},${y}) channel ${c}`).toBeLessThanOrEqual(tol));
      }
    }
  }

  it('dark channel prior dehazing inverts uniform haze', () => {
    const { img, J } = hazy([0.8, 0.85, 0.9], [0.6, 0.6, 0.6], [2]);
    const out = run(img, { op: 'dehaze', patch: 3, omega: 1, radius: 0, top: 0.1 });
    expectRecovered(out, J, 3);
    // the guided filter keeps a constant transmission constant (away from the sky edge it smooths)
    expectRecovered(run(img, { op: 'dehaze', patch: 3, omega: 1, radius: 4, top: 0.1 }), J, 4, 22);
  });

  it('the underwater DCP looks at green and blue only (red may be dark everywhere)', () => {
    // red is absorbed: no zero in G/B would fool UDCP, so zero blue; red is high everywhere
    const { img, J } = hazy([0.3, 0.8, 0.7], [0.5, 0.5, 0.5], [2]);
    const out = run(img, { op: 'udcp', patch: 3, omega: 1, radius: 0, top: 0.1 });
    expectRecovered(out, J, 4);
  });

  it('backscatter removal inverts I = J t + B (1 - t) per channel', () => {
    // per-channel transmissions; J has a dark pixel of every channel in each patch
    const w = 36;
    const h = 12;
    const B = [0.3, 0.6, 0.5];
    const t = [0.4, 0.7, 0.6];
    const J = solid(w, h, [0, 0, 0]);
    const img = solid(w, h, [0, 0, 0]);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const j = (x + y) % 2 === 0 ? [0, 0, 0] : [0.5 + 0.1 * (x % 3), 0.4 + 0.1 * (y % 3), 0.3];
        setPx(J, x, y, j.map((v) => Math.round(v * 255)) as [number, number, number]);
        const i = x < 12 ? B : j.map((v, c) => v * t[c]! + B[c]! * (1 - t[c]!));
        setPx(img, x, y, i.map((v) => Math.round(v * 255)) as [number, number, number]);
      }
    }
    expectRecovered(run(img, { op: 'backscatter', patch: 3, omega: 1, radius: 0, bInf: B }), J, 4);
    // estimated B from the haziest pixels (the left third) gives the same
    expectRecovered(run(img, { op: 'backscatter', patch: 3, omega: 1, radius: 0, top: 0.1 }), J, 5);
  });
});

/** He et al.'s guided filter as the plain chain of OpenCV calls (box means, multiply, subtract, divide, add): the reference. */
function opencvGuidedFilter(guide: Mat, src: Mat, radius: number, eps: number): Mat {
  const s = new MatScope();
  try {
    const size = new cv.Size(2 * radius + 1, 2 * radius + 1);
    const box = (m: Mat) => {
      const o = s.add(new cv.Mat());
      cv.boxFilter(m, o, cv.CV_32F, size, new cv.Point(-1, -1), true, cv.BORDER_REFLECT);
      return o;
    };
    const mul = (a: Mat, b: Mat) => {
      const o = s.add(new cv.Mat());
      cv.multiply(a, b, o);
      return o;
    };
    const meanI = box(guide);
    const meanP = box(src);
    const covIp = s.add(new cv.Mat());
    cv.subtract(box(mul(guide, src)), mul(meanI, meanP), covIp);
    const varI = s.add(new cv.Mat());
    cv.subtract(box(mul(guide, guide)), mul(meanI, meanI), varI);
    const denom = s.add(new cv.Mat());
    cv.add(varI, s.add(new cv.Mat(varI.rows, varI.cols, cv.CV_32F, new cv.Scalar(eps))), denom);
    const a = s.add(new cv.Mat());
    cv.divide(covIp, denom, a);
    const b = s.add(new cv.Mat());
    cv.subtract(meanP, mul(a, meanI), b);
    const q = new cv.Mat();
    cv.add(mul(box(a), guide), box(b), q);
    return q;
  } finally {
    s.free();
  }
}

/** The float values of a Mat as bytes, for comparing bit for bit. */
const bits = (m: Mat) => Buffer.from(m.data32F.slice().buffer);

describe('backscatter shortcuts are exact (the same bits as the long way round)', () => {
  it('GuidedFilter (the guide statistics once for several sources) equals the filter as a chain of OpenCV calls per source', () => {
    const s = new MatScope();
    try {
      const img = s.add(floatMatFromRgb(cv, renderDarkScene(5, 160, 120)));
      const grey = s.add(greyOf(cv, img));
      const planes = s.add(new cv.MatVector());
      cv.split(img, planes);
      for (const [radius, eps] of [[30, 1e-3], [4, 0.1], [1, 1e-6]] as const) {
        const shared = new GuidedFilter(cv, grey, radius, eps);
        try {
          for (let c = 0; c < 3; c++) {
            const src = s.add(planes.get(c));
            const reference = bits(s.add(opencvGuidedFilter(grey, src, radius, eps)));
            expect(bits(s.add(shared.apply(src))).equals(reference), `radius ${radius}, channel ${c}`).toBe(true);
            expect(bits(s.add(guidedFilter(cv, grey, src, radius, eps))).equals(reference), `radius ${radius}, channel ${c}`).toBe(true);
          }
        } finally {
          shared.delete();
        }
      }
    } finally {
      s.free();
    }
  });

  it('the min of the eroded G and B planes equals the UDCP dark channel (erosion commutes with the per-pixel min)', () => {
    const s = new MatScope();
    try {
      const img = s.add(floatMatFromRgb(cv, renderDarkScene(6, 97, 61)));
      const planes = s.add(new cv.MatVector());
      cv.split(img, planes);
      for (const patch of [1, 3, 15, 41]) {
        const k = s.add(cv.getStructuringElement(cv.MORPH_RECT, new cv.Size(patch, patch)));
        const [g, b] = [1, 2].map((c) => {
          const o = s.add(new cv.Mat());
          cv.erode(s.add(planes.get(c)), o, k, new cv.Point(-1, -1), 1, cv.BORDER_REFLECT);
          return o;
        });
        const min = s.add(new cv.Mat());
        cv.min(g!, b!, min);
        expect(bits(min).equals(bits(s.add(darkChannel(cv, img, [1, 2], patch)))), `patch ${patch}`).toBe(true);
      }
    } finally {
      s.free();
    }
  });
});

describe('params', () => {
  it('fills op defaults, rejects unknown ops and unknown keys', () => {
    expect(opSchema.parse({ op: 'dehaze' })).toEqual({ op: 'dehaze', patch: 15, omega: 0.95, t0: 0.1, radius: 30, eps: 1e-3, top: 0.001 });
    expect(opSchema.parse({ op: 'clahe' })).toEqual({ op: 'clahe', clipLimit: 2, tiles: 8 });
    expect(opSchema.safeParse({ op: 'sepia' }).success).toBe(false);
    expect(opSchema.safeParse({ op: 'gamma', gama: 2 }).success).toBe(false);
    expect(enhanceParams.parse({}).ops.length).toBeGreaterThan(0);
  });
});

describe('enhance stage', () => {
  let dir = '';
  let done = async () => {};
  beforeAll(async () => ({ dir, done } = await tempDir()));
  afterAll(() => done());
  const s = stage as PerItemStage<EnhanceParams>;

  it('processItem writes the image with quality figures; reduce averages them into quality.json', async () => {
    const root = path.join(dir, 'repo');
    await writeImage(path.join(root, 'in/a.png'), textured(), { format: 'png' });
    const params = enhanceParams.parse({ images: 'in', out: 'work/en', ops: [{ op: 'levels' }, { op: 'gamma', gamma: 0.8 }], metricBlock: 4 });
    expect(s.io(params)).toMatchObject({ outs: ['work/en'], metrics: ['work/en/quality.json'], map: { in: 'in', out: 'work/en' } });
    const outDir = path.join(dir, 'item');
    const res = await s.processItem(itemCtx(root, params, 'in', 'a.png', outDir));
    const out = await readRgb(path.join(outDir, 'images/a.png'));
    expect([out.width, out.height]).toEqual([24, 16]);
    const sum = res.summary as { input: { uiqm: number; uciqe: number }; output: { uiqm: number; uciqe: number } };
    expect(sum.output.uciqe).toBeGreaterThan(0);
    expect(sum.input.uiqm).not.toBe(sum.output.uiqm);
    await s.reduce!(stageCtx(root, params), [
      { rel: 'a.png', summary: res.summary },
      { rel: 'b.png', summary: { input: { uiqm: 1, uciqe: 0.1 }, output: { uiqm: 3, uciqe: 0.5 } } },
    ]);
    const q = JSON.parse(await readFile(path.join(root, 'work/en/quality.json'), 'utf8'));
    expect(q.images).toBe(2);
    expect(q.uiqm).toBeCloseTo((sum.output.uiqm + 3) / 2, 3);
    expect(q.inputUciqe).toBeCloseTo((sum.input.uciqe + 0.1) / 2, 3);
    expect(q.ops).toEqual(['levels', 'gamma']);
    expect(q.variants).toEqual({ uiqm: 'pipe (block 4)', uciqe: 'pipe' });
  });

  it('the literature variants by name: the figures are those of uiqmFunie / uciqeJou, and quality.json says so', async () => {
    const root = path.join(dir, 'repo-lit');
    const img = textured();
    await writeImage(path.join(root, 'in/a.png'), img, { format: 'png' });
    const params = enhanceParams.parse({ images: 'in', out: 'work/en', ops: [{ op: 'gamma', gamma: 1 }], uiqm: 'funie-gan', uciqe: 'jou-uip' });
    const res = await s.processItem(itemCtx(root, params, 'in', 'a.png', path.join(dir, 'item-lit')));
    const sum = res.summary as { input: { uiqm: number; uciqe: number } };
    const cv = await loadOpenCv();
    expect(sum.input.uiqm).toBeCloseTo(uiqmFunie(img).uiqm, 4);
    expect(sum.input.uciqe).toBeCloseTo(uciqeJou(img, lab8Of(cv, img)).uciqe, 4);
    await s.reduce!(stageCtx(root, params), [{ rel: 'a.png', summary: res.summary }]);
    const q = JSON.parse(await readFile(path.join(root, 'work/en/quality.json'), 'utf8'));
    expect(q.variants).toEqual({ uiqm: 'funie-gan', uciqe: 'jou-uip' });
  });

  it('writes its PNGs at the zlib level of pngCompression (default 1, as imwrite), same pixels', async () => {
    expect(enhanceParams.parse({}).pngCompression).toBe(1);
    expect(enhanceParams.safeParse({ pngCompression: 10 }).success).toBe(false);
    const root = path.join(dir, 'repo-png');
    await writeImage(path.join(root, 'in/a.png'), textured(96, 64), { format: 'png' });
    const sizes: number[] = [];
    const pixels: Uint8Array[] = [];
    for (const level of [0, 9]) {
      const params = enhanceParams.parse({ images: 'in', out: 'work/en', ops: [{ op: 'gamma' }], scores: false, pngCompression: level });
      const outDir = path.join(dir, `item-png${level}`);
      await s.processItem(itemCtx(root, params, 'in', 'a.png', outDir));
      sizes.push((await readFile(path.join(outDir, 'images/a.png'))).length);
      pixels.push((await readRgb(path.join(outDir, 'images/a.png'))).data);
    }
    expect(sizes[0]).toBeGreaterThan(96 * 64 * 3); // level 0 stores the pixels uncompressed
    expect(sizes[1]).toBeLessThan(sizes[0]!);
    expect(pixels[0]).toEqual(pixels[1]);
  });

  it('scores: false writes the image, no scores, and a quality.json saying they were not computed', async () => {
    const root = path.join(dir, 'repo-noq');
    await writeImage(path.join(root, 'in/a.png'), textured(), { format: 'png' });
    const params = enhanceParams.parse({ images: 'in', out: 'work/en', ops: [{ op: 'levels' }], scores: false });
    const outDir = path.join(dir, 'item-noq');
    const res = await s.processItem(itemCtx(root, params, 'in', 'a.png', outDir));
    expect(res.summary).toBeNull();
    expect((await readRgb(path.join(outDir, 'images/a.png'))).width).toBe(24);
    await s.reduce!(stageCtx(root, params), [{ rel: 'a.png', summary: null }]);
    const q = JSON.parse(await readFile(path.join(root, 'work/en/quality.json'), 'utf8'));
    expect(q).toEqual({ images: 1, ops: ['levels'], scores: 'not computed (scores: false)' });
  });
});
