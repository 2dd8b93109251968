/**
 * Shared fixtures for the tfjs stage tests: a hand-made StageContext and a
 * tiny generated data set (dark noisy background, a bright square = class 1,
 * a green bar = class 2, a ring of ignore label 255 around the square).
 */
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Progress } from '../../src/events.ts';
import type { StageContext } from '../../src/stage-api.ts';
import { STUDY_PALETTE } from '../../stages/lib/image/palette.ts';
import { Rng } from '../../stages/lib/tf/rng.ts';
import { trainParams, type TrainParams } from '../../stages/train/params.ts';

export interface TestCtx<P> extends StageContext<P> {
  events: Progress[];
  logs: string[];
  controller: AbortController;
}

export async function tempDir(prefix = 'pipe-tf-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** A StageContext rooted at `root`; `workDir` may be shared between runs to test resuming. */
export function makeCtx<P>(root: string, params: P, workDir: string, onProgress?: (p: Progress, c: TestCtx<P>) => void): TestCtx<P> {
  const controller = new AbortController();
  const ctx: TestCtx<P> = {
    stage: 'test',
    params,
    root,
    path: (rel) => path.join(root, rel),
    workDir,
    events: [],
    logs: [],
    controller,
    progress(p) {
      ctx.events.push(p);
      onProgress?.(p, ctx);
    },
    log(line) {
      ctx.logs.push(line);
    },
    signal: controller.signal,
    gpus: [],
    threads: 1,
  };
  return ctx;
}

/**
 * Writes `n` images of `size`x`size` under root/data/{images,labels} and a
 * split list root/data/train.txt; returns the repo-relative folders.
 */
export async function makeDataset(root: string, n: number, size = 32, seed = 7): Promise<{ images: string; labels: string; list: string }> {
  const rng = new Rng(seed);
  await mkdir(path.join(root, 'data/images'), { recursive: true });
  await mkdir(path.join(root, 'data/labels'), { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const img = Buffer.alloc(size * size * 3);
    const lab = Buffer.alloc(size * size);
    const s = 8 + rng.int(6);
    const y0 = rng.int(size - s - 2) + 1;
    const x0 = rng.int(size - s - 2) + 1;
    const bar = rng.int(size - 4);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const k = y * size + x;
        let rgb = [20 + rng.int(20), 20 + rng.int(20), 30 + rng.int(20)];
        let c = 0;
        if (y >= bar && y < bar + 3) {
          rgb = [40, 160, 60];
          c = 2;
        }
        const inSq = y >= y0 && y < y0 + s && x >= x0 && x < x0 + s;
        const onRing = y >= y0 - 1 && y <= y0 + s && x >= x0 - 1 && x <= x0 + s && !inSq;
        if (inSq) {
          rgb = [220, 220, 200];
          c = 1;
        } else if (onRing) c = 255;
        img.set(rgb, k * 3);
        lab[k] = c;
      }
    }
    const stem = `img${String(i).padStart(2, '0')}`;
    await sharp(img, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 95 }).toFile(path.join(root, 'data/images', `${stem}.jpg`));
    await sharp(lab, { raw: { width: size, height: size, channels: 1 } }).png().toFile(path.join(root, 'data/labels', `${stem}.png`));
    lines.push(`images/${stem}.jpg masks/${stem}.png`);
  }
  await writeFile(path.join(root, 'data/train.txt'), lines.join('\n') + '\n');
  // The class list, as convert writes it beside its labels.
  await writeFile(path.join(root, 'data/labels/classes.json'), JSON.stringify({ classes: STUDY_PALETTE, ignoreLabel: 255 }));
  return { images: 'data/images', labels: 'data/labels', list: 'data/train.txt' };
}

/** Tiny settings: 32x32 crops of 32x32 images, width 0.25 from scratch, CPU backend. */
export function tinyParams(data: { images: string; labels: string; list: string }, over: Partial<TrainParams> = {}): TrainParams {
  return trainParams.parse({
    ...data,
    out: 'models/tiny',
    backbone: 'scratch',
    width: 0.25,
    asppChannels: 8,
    decoderChannels: 8,
    crop: 32,
    scaleMin: 0.75,
    scaleMax: 1.25,
    backend: 'cpu',
    optimizer: 'adam',
    lr: 0.01,
    progressEvery: 1,
    ...over,
  });
}
