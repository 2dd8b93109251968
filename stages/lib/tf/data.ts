/**
 * Training and evaluation data: images and labels paired by file stem
 * (samples.ts), decoded with sharp and validated (labels.ts), and the study's augmentation
 * (random scale, random crop, mirror) drawn from a seeded generator keyed
 * by step, so a resumed run sees the same batches as an uninterrupted one.
 * Decoding goes through the project's image reader (stages/lib/image), so
 * every format the other stages read (BMP included) works here too.
 */
import { FailureError, failure } from '../../../src/stage-api.ts';
import { readRgb } from '../image/io.ts';
import { addCounts, decodeLabelFile, emptyCounts, type LabelCounts, type LabelSpec } from './labels.ts';
import { IGNORE_LABEL } from './loss.ts';
import type { Sample } from './samples.ts';
import { Rng, mixSeed } from './rng.ts';

export { pairSamples, parseSplitList, type NamedDir, type Sample } from './samples.ts';

/** An 8-bit image in memory, interleaved channels. */
export interface Raster {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** Decodes any image the project reads (sharp's formats plus BMP) to 8-bit RGB. */
export async function decodeRGB(file: string): Promise<Raster> {
  const img = await readRgb(file);
  return { ...img, channels: 3 };
}

/** A label file as a raster of class indices (255 = ignore), validated against `spec` (see labels.ts). */
export async function decodeLabel(file: string, spec: LabelSpec, name: string = file): Promise<Raster & { counts: number[]; ignored: number }> {
  const l = await decodeLabelFile(file, name, spec);
  return { width: l.width, height: l.height, channels: 1, data: l.data, counts: l.counts, ignored: l.ignored };
}

export interface LoadedSample {
  stem: string;
  image: Raster;
  label: Raster;
}

/** The mismatch of an image and its label in size, as a failure naming both. */
export function sizeMismatch(s: Sample, image: Raster, label: Raster, names: (abs: string) => string = (a) => a): FailureError {
  return new FailureError(
    failure('io', `${names(s.label)} is ${label.width}x${label.height} but its image ${names(s.image)} is ${image.width}x${image.height}`, {
      file: names(s.label),
      hint: 'a label must have the size of its image (as displayed, EXIF orientation applied); re-export the mask or fix the pairing',
    }),
  );
}

/**
 * Decodes every sample (labels validated against `spec`); image and label
 * sizes must agree. Returns the samples and the set's pixel counts per class.
 */
export async function loadSamples(
  samples: Sample[],
  spec: LabelSpec,
  names: (abs: string) => string = (a) => a,
): Promise<{ samples: LoadedSample[]; counts: LabelCounts }> {
  const out: LoadedSample[] = [];
  const counts = emptyCounts(spec.classes.names.length);
  for (const s of samples) {
    const [image, label] = await Promise.all([decodeRGB(s.image), decodeLabel(s.label, spec, names(s.label))]);
    if (image.width !== label.width || image.height !== label.height) throw sizeMismatch(s, image, label, names);
    addCounts(counts, label);
    out.push({ stem: s.stem, image, label: { width: label.width, height: label.height, channels: 1, data: label.data } });
  }
  return { samples: out, counts };
}

/** Maps 8-bit RGB to the network's input range [-1, 1]. */
export function normalisePixel(v: number): number {
  return v / 127.5 - 1;
}

/** A whole image as normalised float RGB (evaluation). */
export function toInput(img: Raster): Float32Array {
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = normalisePixel(img.data[i]!);
  return out;
}

export interface AugmentOptions {
  crop: number;
  scaleMin: number;
  scaleMax: number;
  mirror: boolean;
}

/**
 * One augmented training crop: scale by s in [scaleMin, scaleMax]
 * (bilinear for the image, nearest for labels), take a random crop x crop
 * window, mirror with probability 1/2. The scale is raised where needed so
 * the scaled image still covers the crop (a smaller one would leave part of
 * the window empty: wasted pixels); only an image smaller than the crop at
 * every allowed scale leaves a margin, where the input is 0 (mid-grey after
 * normalisation) and the label 255.
 */
export function augmentedCrop(s: LoadedSample, o: AugmentOptions, rng: Rng): { image: Float32Array; label: Int32Array } {
  const { width: W, height: H, data: img } = s.image;
  const lab = s.label.data;
  const drawn = o.scaleMin === o.scaleMax ? o.scaleMin : rng.uniform(o.scaleMin, o.scaleMax);
  const scale = Math.max(drawn, Math.min(o.crop / Math.min(H, W), o.scaleMax));
  const sh = Math.max(1, Math.round(H * scale));
  const sw = Math.max(1, Math.round(W * scale));
  const oy = rng.int(Math.max(0, sh - o.crop) + 1);
  const ox = rng.int(Math.max(0, sw - o.crop) + 1);
  const flip = o.mirror && rng.next() < 0.5;
  const C = o.crop;
  const image = new Float32Array(C * C * 3);
  const label = new Int32Array(C * C).fill(IGNORE_LABEL);
  const ry = H / sh;
  const rx = W / sw;
  for (let y = 0; y < C; y++) {
    const syScaled = oy + y;
    if (syScaled >= sh) break;
    const fy = Math.min(Math.max((syScaled + 0.5) * ry - 0.5, 0), H - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, H - 1);
    const wy = fy - y0;
    const ny = Math.min(Math.floor((syScaled + 0.5) * ry), H - 1);
    for (let x = 0; x < C; x++) {
      const sxScaled = ox + x;
      if (sxScaled >= sw) break;
      const fx = Math.min(Math.max((sxScaled + 0.5) * rx - 0.5, 0), W - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, W - 1);
      const wx = fx - x0;
      const nx = Math.min(Math.floor((sxScaled + 0.5) * rx), W - 1);
      const ox2 = flip ? C - 1 - x : x;
      const o3 = (y * C + ox2) * 3;
      for (let c = 0; c < 3; c++) {
        const a = img[(y0 * W + x0) * 3 + c]! * (1 - wx) + img[(y0 * W + x1) * 3 + c]! * wx;
        const b = img[(y1 * W + x0) * 3 + c]! * (1 - wx) + img[(y1 * W + x1) * 3 + c]! * wx;
        image[o3 + c] = normalisePixel(a * (1 - wy) + b * wy);
      }
      label[y * C + ox2] = lab[ny * W + nx]!;
    }
  }
  return { image, label };
}

/**
 * The sample indices of training step `step` (0-based): a fresh seeded
 * shuffle every epoch, computed from (seed, epoch) so any step can be
 * reproduced without replaying the ones before it.
 */
export function batchIndices(seed: number, step: number, batch: number, n: number): number[] {
  const out: number[] = [];
  let epoch = -1;
  let perm: number[] = [];
  for (let j = 0; j < batch; j++) {
    const k = step * batch + j;
    const e = Math.floor(k / n);
    if (e !== epoch) {
      epoch = e;
      perm = new Rng(mixSeed(seed, 1, e)).permutation(n);
    }
    out.push(perm[k % n]!);
  }
  return out;
}

/** The augmentation generator of training step `step`. */
export function stepRng(seed: number, step: number): Rng {
  return new Rng(mixSeed(seed, 2, step));
}
