/**
 * The synth stage's body (loaded lazily by index.ts): renders every scene on
 * a worker pool, encodes and writes images, masks and split lists per
 * condition, then the statistics (the stage's metrics) and the contact sheet.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { entryModule, runPool, type StageContext } from '../../src/stage-api.ts';
import { encodeJpeg, encodePng } from './encode.ts';
import { assignSplits, imageName, listLine, SPLITS } from './layout.ts';
import { contactSheet, type SheetRow } from './preview.ts';
import { summarise, type ConditionStats, type ImageStats } from './stats.ts';
import type { Frame } from './render.ts';
import type { Condition, SynthParams } from './params.ts';
import type { SynthWorkerData } from './worker.ts';

/** The worker module: an entry point of the build, so found from the package root (this code may sit in dist/chunks/). */
function workerEntry(): URL {
  return pathToFileURL(entryModule('stages/synth/worker'));
}

/** Renders the data set described by ctx.params into ctx.path(params.out). */
export async function generate(ctx: StageContext<SynthParams>): Promise<void> {
  const p = ctx.params;
  const conditions: Condition[] = [...p.conditions];
  const root = ctx.path(p.out);
  for (const c of conditions) {
    await mkdir(path.join(root, c, 'images'), { recursive: true });
    await mkdir(path.join(root, c, 'masks'), { recursive: true });
  }
  const names = Array.from({ length: p.count }, (_, i) => imageName(i, p.count));
  const stats = new Map<Condition, ImageStats[]>(conditions.map((c) => [c, new Array<ImageStats>(p.count)]));
  const sheet: SheetRow[] = [];
  const total = p.count * conditions.length;
  let done = 0;
  ctx.progress({ step: 0, total, message: 'rendering' });

  const data: SynthWorkerData = { params: p, conditions };
  await runPool<number, { index: number; frames: Frame[] }>({
    entry: workerEntry(),
    data,
    threads: Math.max(1, ctx.threads),
    jobs: Array.from({ length: p.count }, (_, i) => i),
    signal: ctx.signal,
    onResult: async ({ index, frames }) => {
      const name = names[index]!;
      for (const f of frames) {
        const [jpg, png] = await Promise.all([
          encodeJpeg(f.image, p.width, p.height, p.jpegQuality),
          encodePng(f.mask, p.width, p.height),
        ]);
        await writeFile(path.join(root, f.condition, 'images', `${name}.jpg`), jpg);
        await writeFile(path.join(root, f.condition, 'masks', `${name}.png`), png);
        stats.get(f.condition)![index] = f.stats;
        done++;
      }
      if (index < p.preview) sheet[index] = { tiles: frames.map((f) => ({ image: f.image, mask: f.mask })) };
      ctx.progress({ step: done, total, message: 'rendering' });
    },
  });
  ctx.signal.throwIfAborted();

  const split = assignSplits(p.seed, p.count, p.splits);
  for (const c of conditions) {
    for (const s of SPLITS) {
      const lines = names.filter((_, i) => split[i] === s).map(listLine);
      await writeFile(path.join(root, c, `${s}.txt`), lines.length ? lines.join('\n') + '\n' : '');
    }
  }
  const summary: Partial<Record<Condition, ConditionStats>> = {};
  // Summed in index order, so the floating-point result does not depend on worker timing.
  for (const c of conditions) summary[c] = summarise(stats.get(c)!);
  await writeFile(ctx.path(`${p.out}/stats.json`), JSON.stringify(summary, null, 2) + '\n');
  if (p.preview > 0) await writeFile(path.join(root, 'preview.png'), await contactSheet(sheet.filter(Boolean), p.width, p.height));
  ctx.log(`rendered ${p.count} scenes x ${conditions.length} conditions into ${p.out}`);
}
