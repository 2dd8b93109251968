/**
 * Training and evaluation data: the split list, matching images and index
 * labels by file stem, decoding with sharp, and the study's augmentation
 * (random scale, random crop, mirror) drawn from a seeded generator keyed
 * by step, so a resumed run sees the same batches as an uninterrupted one.
 * Decoding goes through the project's image reader (stages/lib/image), so
 * every format the other stages read (BMP included) works here too.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FailureError, failure } from '../../../src/stage-api.ts';
import { readRgb } from '../image/io.ts';
import { IGNORE_LABEL } from './loss.ts';
import { Rng, mixSeed } from './rng.ts';

/** Colours of the study's VOC-style masks: background, valve, pipe. */
export const DEFAULT_PALETTE: [number, number, number][] = [
  [0, 0, 0],
  [128, 0, 0],
  [0, 128, 0],
];

export interface Sample {
  stem: string;
  image: string;
  label: string;
}

/** An 8-bit image in memory, interleaved channels. */
export interface Raster {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

const stemOf = (p: string): string => path.basename(p).replace(/\.[^.]*$/, '');

/**
 * Stems of a split list. Each line is `image mask` (e.g. `images/x.jpg
 * masks/x.png`) or just one path; the stem of the first path names the
 * sample. Blank lines and `#` comments are skipped.
 */
export function parseSplitList(text: string): string[] {
  const stems: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    stems.push(stemOf(line.split(/\s+/)[0]!));
  }
  return stems;
}

/**
 * Finds `<images>/<stem>.*` and `<labels>/<stem>.png` for every stem of the
 * list. A missing file is a 'missing-dep' failure that names the first few.
 */
export async function resolveSamples(listFile: string, imagesDir: string, labelsDir: string): Promise<Sample[]> {
  let text: string;
  try {
    text = await readFile(listFile, 'utf8');
  } catch {
    throw new FailureError(failure('missing-dep', `cannot read the split list ${listFile}`, { file: listFile }));
  }
  const stems = parseSplitList(text);
  if (stems.length === 0) throw new FailureError(failure('missing-dep', `split list ${listFile} names no images`, { file: listFile }));
  const byStem = new Map<string, string>();
  let names: string[];
  try {
    names = (await readdir(imagesDir)).sort();
  } catch {
    throw new FailureError(failure('missing-dep', `cannot read the image folder ${imagesDir}`, { file: imagesDir }));
  }
  for (const n of names) if (!byStem.has(stemOf(n))) byStem.set(stemOf(n), n);
  const labelNames = new Set(await readdir(labelsDir).catch(() => [] as string[]));
  const missing: string[] = [];
  const out: Sample[] = [];
  for (const stem of stems) {
    const img = byStem.get(stem);
    if (!img) missing.push(`${path.join(imagesDir, stem)}.*`);
    if (!labelNames.has(`${stem}.png`)) missing.push(path.join(labelsDir, `${stem}.png`));
    if (img && labelNames.has(`${stem}.png`)) out.push({ stem, image: path.join(imagesDir, img), label: path.join(labelsDir, `${stem}.png`) });
  }
  if (missing.length) {
    throw new FailureError(
      failure('missing-dep', `${missing.length} file(s) named by ${listFile} are missing, e.g. ${missing.slice(0, 3).join(', ')}`, {
        file: listFile,
        hint: 'images are matched as <images>/<stem>.* and labels as <labels>/<stem>.png, by the stem of the first path on each list line',
      }),
    );
  }
  return out;
}

/** Decodes any image the project reads (sharp's formats plus BMP) to 8-bit RGB. */
export async function decodeRGB(file: string): Promise<Raster> {
  const img = await readRgb(file);
  return { ...img, channels: 3 };
}

/**
 * Decodes a label PNG to one index per pixel. Single-channel (or grey) PNGs
 * are taken as indices; colour PNGs are mapped through `palette` (unknown
 * colours become the ignore label), so VOC-style colour masks work too.
 */
export async function decodeLabel(file: string, palette: [number, number, number][] = DEFAULT_PALETTE): Promise<Raster> {
  const r = await decodeRGB(file);
  const n = r.width * r.height;
  const out = new Uint8Array(n);
  const ch = 3;
  let isGrey = true;
  for (let i = 0; i < n && isGrey; i++) {
    const o = i * ch;
    isGrey = r.data[o] === r.data[o + 1] && r.data[o] === r.data[o + 2];
  }
  if (isGrey) {
    for (let i = 0; i < n; i++) out[i] = r.data[i * ch]!;
  } else {
    const lut = new Map(palette.map(([a, b, c], k) => [(a << 16) | (b << 8) | c, k]));
    for (let i = 0; i < n; i++) {
      const o = i * ch;
      out[i] = lut.get((r.data[o]! << 16) | (r.data[o + 1]! << 8) | r.data[o + 2]!) ?? IGNORE_LABEL;
    }
  }
  return { width: r.width, height: r.height, channels: 1, data: out };
}

export interface LoadedSample {
  stem: string;
  image: Raster;
  label: Raster;
}

/** Decodes every sample; image and label sizes must agree. */
export async function loadSamples(samples: Sample[], palette?: [number, number, number][]): Promise<LoadedSample[]> {
  const out: LoadedSample[] = [];
  for (const s of samples) {
    const [image, label] = await Promise.all([decodeRGB(s.image), decodeLabel(s.label, palette)]);
    if (image.width !== label.width || image.height !== label.height) {
      throw new FailureError(
        failure('io', `${s.label} is ${label.width}x${label.height} but ${s.image} is ${image.width}x${image.height}`, { file: s.label }),
      );
    }
    out.push({ stem: s.stem, image, label });
  }
  return out;
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
 * window, mirror with probability 1/2. Where the window leaves the scaled
 * image, the input is 0 (mid-grey after normalisation) and the label 255.
 */
export function augmentedCrop(s: LoadedSample, o: AugmentOptions, rng: Rng): { image: Float32Array; label: Int32Array } {
  const { width: W, height: H, data: img } = s.image;
  const lab = s.label.data;
  const scale = o.scaleMin === o.scaleMax ? o.scaleMin : rng.uniform(o.scaleMin, o.scaleMax);
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
