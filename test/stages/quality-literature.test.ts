/**
 * The literature's UIQM and UCIQE implementations, against numbers their own scripts give.
 *
 * How the expected numbers were obtained (2026-11-30), once, by hand; they are not recomputed here:
 * 1. The images are `qualityScenes()` (test/fixtures/images/quality-scenes.ts) written as PNG with
 *    `writeImage(..., { format: 'png' })` (lossless).
 * 2. UIQM: `Evaluation/uqim_utils.py` from github.com/xahidbuffon/FUnIE-GAN (the only version in its history,
 *    commit dc256e6), fetched, not committed. It is Python 2 code: under Python 3 its `k1 = x.shape[1]/window_size`
 *    (and k2, in `eme` and `_uiconm`) are floats and slicing stops with a TypeError, so those four `/` were read as
 *    `//` (Python 2's integer division on ints) and nothing else changed. Run with Debian's /usr/bin/python3
 *    (3.11, numpy 1.24.2, scipy 1.10.1, Pillow 9.4) as `getUIQM(np.array(Image.open(png)))`, which is what the
 *    repository's `measure_uiqm.py` calls (after resizing to 256x256, which is not done here).
 * 3. UCIQE: `UCIQE.py` from github.com/JOU-UIP/UCIQE (commit 02a3cf3, the Python port of the widely shared
 *    `UCIQE.m`), unchanged, as `uciqe(1, png)` with Debian's python3-opencv 4.6.0.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { lab8Of } from '../../stages/lib/image/mat.ts';
import { loadOpenCv, type CV } from '../../stages/lib/image/opencv.ts';
import { uciqe, uciqeJou, uiqm, uiqmFunie } from '../../stages/lib/image/quality.ts';
import { qualityScenes } from '../fixtures/images/quality-scenes.ts';

// name -> [getUIQM, _uicm, _uism, _uiconm(x, 10), UCIQE.uciqe] as the scripts printed them (repr)
const REFERENCE: Record<string, [number, number, number, number, number]> = {
  'dark-scene-160x120': [2.6909961411208867, 4.9755844811718575, 5.352457980159569, 0.27133494174215306, 0.6036789022099853],
  'pattern-120x90': [3.3491836917787285, 14.907375214995149, 6.541495247663365, 0.2788834962327283, 0.6395981575870135],
  'pattern-83x61': [3.128106660238332, 14.878934139777847, 5.915643751198491, 0.26896515474720495, 0.6364423338652607],
};

let cv: CV;
beforeAll(async () => {
  cv = await loadOpenCv();
});

describe('UIQM variant funie-gan (FUnIE-GAN Evaluation/uqim_utils.py)', () => {
  for (const { name, img } of qualityScenes()) {
    it(`${name}: UIQM and its parts equal the script's`, () => {
      const [total, uicm, uism, uiconm] = REFERENCE[name]!;
      const q = uiqmFunie(img);
      // the script sums in float32 in places; 1e-6 leaves room for the order of float32 rounding, nothing more
      expect(q.uicm).toBeCloseTo(uicm, 6);
      expect(q.uism).toBeCloseTo(uism, 6);
      expect(q.uiconm).toBeCloseTo(uiconm, 9);
      expect(q.uiqm).toBeCloseTo(total, 6);
    });
  }

  it('differs from the pipe variant by more than the tolerance above (so the test tells them apart)', () => {
    const { img } = qualityScenes()[1]!;
    expect(Math.abs(uiqm(img).uiqm - uiqmFunie(img).uiqm)).toBeGreaterThan(0.05);
  });
});

describe('UCIQE variant jou-uip (JOU-UIP UCIQE.py)', () => {
  for (const { name, img } of qualityScenes()) {
    it(`${name}: equals the script's on OpenCV's Lab, and is close on ours`, () => {
      const expected = REFERENCE[name]![4];
      expect(uciqeJou(img, lab8Of(cv, img)).uciqe).toBeCloseTo(expected, 10);
      // our own Lab rounded to 8 bits differs from OpenCV's tables by one level on some pixels
      expect(Math.abs(uciqeJou(img).uciqe - expected)).toBeLessThan(0.005);
      expect(Math.abs(uciqe(img).uciqe - expected)).toBeGreaterThan(0.05);
    });
  }

  it('a flat grey image (20x10 of 90): the histogram spans [L - 0.5, L + 0.5] as numpy does; equals the script', () => {
    // UCIQE.uciqe(1, png) printed 0.22653294318947975 for this image (cv2.imwrite of np.full((10, 20, 3), 90))
    const img = { width: 20, height: 10, data: new Uint8Array(600).fill(90) };
    const q = uciqeJou(img, lab8Of(cv, img));
    expect(q.conL).toBe(0);
    // sigma_c is sqrt(mean |1 - (mean C / C)^2|): rounding noise of ~1e-8 on a flat image, in the script too
    expect(q.uciqe).toBeCloseTo(0.22653294318947975, 6);
  });
});
