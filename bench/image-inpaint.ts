/**
 * Times our Telea inpainting (stages/lib/image/inpaint-telea.ts) alone on
 * rendered 640x480 scenes with the study's mask, for profiling its hot loop:
 *
 *   node --import tsx bench/image-inpaint.ts [runs=5] [scenes=1] [--save=file | --check=file]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/image-inpaint.ts 5
 *
 * --save writes the outputs to a file and --check compares against one, so a
 * change to the loop can be shown to leave every pixel as it was.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dilateBinary } from '../stages/lib/image/dilate.ts';
import { inpaintTelea } from '../stages/lib/image/inpaint-telea.ts';
import { grayFromMat } from '../stages/lib/image/mat.ts';
import { loadOpenCv } from '../stages/lib/image/opencv.ts';
import type { GrayImage, RgbImage } from '../stages/lib/image/types.ts';
import { renderDarkScene } from './image-scene.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const [runs = 5, scenes = 1] = args.filter((a) => !a.startsWith('--')).map(Number);

/** The study's mask: grey (BT.601, about cv.COLOR_RGB2GRAY) > 100, dilated by the 15x20 ellipse 3 times. */
function studyMask(img: RgbImage, kernel: GrayImage): GrayImage {
  const n = img.width * img.height;
  const raw = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const grey = Math.round(0.299 * img.data[i * 3]! + 0.587 * img.data[i * 3 + 1]! + 0.114 * img.data[i * 3 + 2]!);
    raw[i] = grey > 100 ? 255 : 0;
  }
  return dilateBinary({ data: raw, width: img.width, height: img.height }, kernel, 3);
}

const cv = await loadOpenCv();
const kMat = cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(15, 20));
const kernel = grayFromMat(kMat);
kMat.delete();
const inputs = Array.from({ length: scenes }, (_, i) => {
  const img = renderDarkScene(i + 2);
  return { img, mask: studyMask(img, kernel) };
});
const outs: Uint8Array[] = [];
const times: number[] = [];
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  for (const { img, mask } of inputs) {
    const out = inpaintTelea(img, mask, 15);
    if (r === 0) outs.push(out.data);
  }
  times.push((performance.now() - t0) / scenes);
}
const later = times.length > 1 ? times.slice(1) : times;
console.log(`inpaint ms per image: ${times.map((t) => t.toFixed(0)).join(' ')}; mean after the first ${(later.reduce((a, b) => a + b, 0) / later.length).toFixed(0)}, min ${Math.min(...later).toFixed(0)}; load ${os.loadavg()[0]!.toFixed(2)}`);
const all = Buffer.concat(outs);
const save = flag('save');
const check = flag('check');
if (save) writeFileSync(save, all);
if (check) {
  const ref = readFileSync(check);
  let diff = 0;
  let max = 0;
  for (let i = 0; i < all.length; i++) {
    const d = Math.abs(all[i]! - ref[i]!);
    if (d) diff++;
    if (d > max) max = d;
  }
  console.log(`vs ${check}: ${diff} of ${all.length} values differ, max ${max}`);
}
