/**
 * Where the `deglare` stage's time goes, per image, on the same rendered
 * 640x480 scenes as bench/image.ts: decode, detect, dilate and inpaint (ours
 * and opencv.js's), blur, copies out of the wasm heap, PNG encode of the image and
 * of the mask (per zlib level), and the one-off OpenCV load. One thread, so
 * the figures are per core.
 *
 *   node --import tsx bench/image-profile.ts [images=6]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deglareParams } from '../stages/deglare/params.ts';
import { dilateBinary } from '../stages/lib/image/dilate.ts';
import { inpaintTelea } from '../stages/lib/image/inpaint-telea.ts';
import { loadSharp, readRgb, writeImage } from '../stages/lib/image/io.ts';
import { grayFromMat, matFromRgb, rgbFromMat } from '../stages/lib/image/mat.ts';
import { loadOpenCv, MatScope } from '../stages/lib/image/opencv.ts';
import { renderDarkScene } from './image-scene.ts';

const count = Number(process.argv[2] ?? 6);
const times = new Map<string, number[]>();
function timed<T>(name: string, f: () => T): T {
  const t0 = performance.now();
  const r = f();
  (times.get(name) ?? times.set(name, []).get(name)!).push(performance.now() - t0);
  return r;
}
async function timedAsync<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await f();
  (times.get(name) ?? times.set(name, []).get(name)!).push(performance.now() - t0);
  return r;
}

const root = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-prof-'));
try {
  const t0 = performance.now();
  const cv = await loadOpenCv();
  const sharp = await loadSharp();
  console.log(`opencv.js + sharp load: ${(performance.now() - t0).toFixed(0)} ms`);
  const p = deglareParams.parse({});
  for (let i = 0; i < count; i++) {
    const file = path.join(root, `s${i}.png`);
    await writeImage(file, renderDarkScene(i + 1), { format: 'png' });
    const img = await timedAsync('decode (readRgb)', () => readRgb(file));
    const s = new MatScope();
    try {
      const rgb = s.add(timed('copy into Mat', () => matFromRgb(cv, img)));
      const grey = s.add(new cv.Mat());
      const raw = s.add(new cv.Mat());
      timed('detect (grey + threshold)', () => {
        cv.cvtColor(rgb, grey, cv.COLOR_RGB2GRAY);
        cv.threshold(grey, raw, p.threshold, 255, cv.THRESH_BINARY);
      });
      const mask = s.add(new cv.Mat());
      timed('dilate 15x20 x3 opencv.js', () => {
        const k = s.add(cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(p.kernel[0], p.kernel[1])));
        cv.dilate(raw, mask, k, new cv.Point(-1, -1), p.iterations, cv.BORDER_CONSTANT, cv.morphologyDefaultBorderValue());
      });
      const rawImg = timed('copy raw mask out of Mat', () => grayFromMat(raw));
      const ourMask = timed('dilate 15x20 x3 ours (dilate.ts)', () => {
        const k = grayFromMat(s.add(cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(p.kernel[0], p.kernel[1]))));
        return dilateBinary(rawImg, k, p.iterations);
      });
      const frac = cv.countNonZero(mask) / (img.width * img.height);
      (times.get('mask fraction %') ?? times.set('mask fraction %', []).get('mask fraction %')!).push(frac * 100);
      const ocv = s.add(new cv.Mat());
      timed('inpaint opencv.js Telea', () => cv.inpaint(rgb, mask, ocv, p.radius, cv.INPAINT_TELEA));
      const m = timed('copy mask out of Mat', () => grayFromMat(mask));
      if (!m.data.every((v, j) => v === ourMask.data[j])) throw new Error('dilate.ts and cv.dilate disagree');
      const ours = timed('inpaint ours (inpaint-telea.ts)', () => inpaintTelea(img, m, p.radius));
      const res = s.add(timed('copy into Mat', () => matFromRgb(cv, ours)));
      const blurred = s.add(new cv.Mat());
      timed('blur 5x5', () => cv.GaussianBlur(res, blurred, new cv.Size(5, 5), 0, 0, cv.BORDER_DEFAULT));
      const out = timed('copy image out of Mat', () => rgbFromMat(blurred));
      for (const level of [1, 6]) {
        await timedAsync(`encode image PNG level ${level}`, () =>
          sharp(out.data, { raw: { width: out.width, height: out.height, channels: 3 } }).png({ compressionLevel: level, adaptiveFiltering: false }).toBuffer(),
        );
        await timedAsync(`encode mask PNG level ${level}`, () =>
          sharp(m.data, { raw: { width: m.width, height: m.height, channels: 1 } }).toColourspace('b-w').png({ compressionLevel: level, adaptiveFiltering: false }).toBuffer(),
        );
      }
      const level = p.pngCompression;
      await timedAsync(`write both (writeImage, level ${level})`, () =>
        Promise.all([
          writeImage(path.join(root, 'o', `${i}.png`), out, { format: 'png', compressionLevel: level }),
          writeImage(path.join(root, 'g', `${i}.png`), m, { format: 'png', compressionLevel: level }),
        ]),
      );
      await readFile(file);
    } finally {
      s.free();
    }
  }
  console.log(`${count} images, load average ${os.loadavg()[0]!.toFixed(2)}; first image excluded from the mean when count > 1`);
  for (const [name, v] of times) {
    const xs = v.length > 1 ? v.slice(1) : v;
    console.log(`${name.padEnd(36)} ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1).padStart(8)}  (min ${Math.min(...xs).toFixed(1)})`);
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
