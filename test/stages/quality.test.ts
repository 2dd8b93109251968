import { beforeAll, describe, expect, it } from 'vitest';
import { loadOpenCv, type CV } from '../../stages/lib/image/opencv.ts';
import { eme, logAmee, sobelMagnitude, srgbToLab, trimmedStats, uciqe, uicm, uiqm } from '../../stages/lib/image/quality.ts';
import { setPx, solid } from '../fixtures/images/helpers.ts';

let cv: CV;
beforeAll(async () => {
  cv = await loadOpenCv();
});

describe('UIQM parts', () => {
  it('alpha-trimmed mean drops ceil(0.1K) lowest and floor(0.1K) highest; variance is about that mean', () => {
    // 0, 10, ..., 90: trimmed to 10..80, mean 45; variance 100 * mean((i - 4.5)^2) = 825
    const v = Float32Array.from({ length: 10 }, (_, i) => 10 * i);
    v[9] = 1000; // an outlier is trimmed from the mean but not from the variance
    const s = trimmedStats(v);
    expect(s.mean).toBeCloseTo(45, 6);
    const expectedVar = (Array.from({ length: 9 }, (_, i) => (10 * i - 45) ** 2).reduce((a, b) => a + b) + (1000 - 45) ** 2) / 10;
    expect(s.variance).toBeCloseTo(expectedVar, 3);
  });

  it('UICM of a red ramp matches the hand-computed value', () => {
    // pixel i = (10 i, 0, 0): RG = 10 i (trimmed mean 45, var 825), YB = 5 i (22.5, 206.25)
    const img = solid(10, 1, [0, 0, 0]);
    for (let i = 0; i < 10; i++) setPx(img, i, 0, [10 * i, 0, 0]);
    const expected = -0.0268 * Math.sqrt(45 ** 2 + 22.5 ** 2) + 0.1586 * Math.sqrt(825 + 206.25);
    expect(uicm(img)).toBeCloseTo(expected, 6);
  });

  it('EME and logAMEE over 2x2 blocks match hand-computed values', () => {
    // blocks: [1 2; 3 4] and [5 5; 5 10]  (4x2 image, row-major)
    const v = Float32Array.from([1, 2, 5, 5, 3, 4, 5, 10]);
    expect(eme(v, 4, 2, 2)).toBeCloseTo(Math.log(4) + Math.log(2), 9); // 2/(2) * (ln 4 + ln 2)
    expect(logAmee(v, 4, 2, 2)).toBeCloseTo(-(0.6 * Math.log(0.6) + (1 / 3) * Math.log(1 / 3)) / 2, 9);
    // a block with min 0 counts 0 in EME; a flat block counts 0 in logAMEE
    expect(eme(Float32Array.from([0, 9, 0, 9]), 2, 2, 2)).toBe(0);
    expect(logAmee(Float32Array.from([7, 7, 7, 7]), 2, 2, 2)).toBe(0);
    // partial blocks at the edges are ignored: a 3x3 image has one 2x2 block
    expect(eme(Float32Array.from([1, 2, 100, 3, 4, 100, 100, 100, 100]), 3, 3, 2)).toBeCloseTo(2 * Math.log(4), 9);
  });

  it('Sobel magnitude equals OpenCV Sobel (mirrored border)', () => {
    const w = 6;
    const h = 5;
    const v = Float32Array.from({ length: w * h }, (_, i) => (i * 37) % 23);
    const src = cv.matFromArray(h, w, cv.CV_32F, Array.from(v));
    const gx = new cv.Mat();
    const gy = new cv.Mat();
    try {
      cv.Sobel(src, gx, cv.CV_32F, 1, 0, 3, 1, 0, cv.BORDER_REFLECT);
      cv.Sobel(src, gy, cv.CV_32F, 0, 1, 3, 1, 0, cv.BORDER_REFLECT);
      const ours = sobelMagnitude(v, w, h);
      for (let i = 0; i < w * h; i++) expect(ours[i]!).toBeCloseTo(Math.hypot(gx.data32F[i]!, gy.data32F[i]!), 4);
    } finally {
      src.delete();
      gx.delete();
      gy.delete();
    }
  });

  it('UIQM of a flat grey image is 0 and grows with contrast and colour', () => {
    const flat = solid(16, 16, [90, 90, 90]);
    expect(uiqm(flat).uiqm).toBe(0);
    // a coloured ramp with texture: no zero gradients (a block whose edge map has a 0 counts 0)
    const busy = solid(16, 16, [0, 0, 0]);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const v = 10 + x * 11 + y * 3 + ((x * y) % 3) * 4;
        setPx(busy, x, y, [v, Math.round(v / 2) + 30, 220 - Math.round(v / 2)]);
      }
    }
    const q = uiqm(busy);
    expect(q.uiconm).toBeGreaterThan(0);
    expect(q.uism).toBeGreaterThan(0);
    expect(q.uicm).toBeGreaterThan(0);
    expect(q.uiqm).toBeCloseTo(0.0282 * q.uicm + 0.2953 * q.uism + 3.5753 * q.uiconm, 9);
  });
});

describe('UCIQE', () => {
  it('converts sRGB to CIELab like the reference tables', () => {
    const near = (a: number[], b: number[]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 1));
    near(srgbToLab(255, 0, 0), [53.24, 80.09, 67.2]);
    near(srgbToLab(0, 255, 0), [87.73, -86.18, 83.18]);
    near(srgbToLab(0, 0, 255), [32.3, 79.19, -107.86]);
    near(srgbToLab(255, 255, 255), [100, 0, 0]);
    near(srgbToLab(0, 0, 0), [0, 0, 0]);
  });

  it('black + white: only the luminance contrast counts (0.2745 x 1)', () => {
    const img = solid(2, 1, [0, 0, 0]);
    setPx(img, 1, 0, [255, 255, 255]);
    const q = uciqe(img);
    expect(q.conL).toBeCloseTo(1, 4);
    expect(q.sigmaC).toBeCloseTo(0, 4);
    expect(q.muS).toBeCloseTo(0, 4);
    expect(q.uciqe).toBeCloseTo(0.2745, 4);
  });

  it('red + black matches the hand-computed value', () => {
    const img = solid(2, 1, [0, 0, 0]);
    setPx(img, 0, 0, [255, 0, 0]);
    // red: L 53.2408, a 80.0925, b 67.2032 -> C = 1.045525 (scaled by 1/100), S = C / L = 1.963766
    const c = Math.hypot(80.0925, 67.2032) / 100;
    const l = 0.532408;
    const expected = 0.468 * (c / 2) + 0.2745 * l + 0.2576 * (c / l / 2);
    const q = uciqe(img);
    expect(q.sigmaC).toBeCloseTo(c / 2, 3);
    expect(q.uciqe).toBeCloseTo(expected, 3);
  });

  it('a flat grey image scores 0', () => {
    expect(uciqe(solid(8, 8, [128, 128, 128])).uciqe).toBeCloseTo(0, 6);
  });
});
