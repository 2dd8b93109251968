/**
 * The built-in image stages through the real runner: rendered data, per-image
 * caching (one changed image, one reprocessed file), and a truncated image
 * failing only its item with a message naming the file.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { TestRepo, jsonEvents, summaryOf } from '../helpers/repo.ts';

const PIPELINE = `
stages:
  synth:
    uses: synth
    params: { out: data, width: 64, height: 64, count: 6, seed: 3, conditions: [dark] }
  labels:
    uses: convert
    params: { masks: data/dark/masks, images: data/dark/images, out: work/labels }
  deglare:
    uses: deglare
    params: { images: data/dark/images, out: work/deglared, radius: 3, kernel: [5, 5], iterations: 1 }
`;

describe('image stages through the runner', () => {
  let repo: TestRepo;
  afterEach(async () => repo?.dispose());

  it('renders, converts and deglares; then reprocesses exactly the changed image', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': PIPELINE });
    const first = await repo.pipe(['run', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(summaryOf(first.stdout).ran.sort()).toEqual(['deglare', 'labels', 'synth']);
    const images = (await readdir(repo.path('data/dark/images'))).sort();
    expect(images).toHaveLength(6);
    expect((await readdir(repo.path('work/labels'))).filter((f) => f.endsWith('.png'))).toHaveLength(6);
    expect((await readdir(repo.path('work/deglared/images'))).sort()).toHaveLength(6);
    expect((await readdir(repo.path('work/deglared/glare'))).sort()).toHaveLength(6);
    const classes = JSON.parse(await repo.read('work/labels/classes.json'));
    expect(classes.files).toBe(6);

    // The same images as a user's own folder: items are keyed by content, so all are cached.
    for (const f of images) await repo.write(`photos/${f}`, await readFile(repo.path(`data/dark/images/${f}`)));
    await repo.write('pipeline.yaml', PIPELINE.replace('images: data/dark/images, out: work/deglared', 'images: photos, out: work/deglared'));
    const moved = await repo.pipe(['run', 'deglare', '--json']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(jsonEvents(moved.stdout).find((e) => e.type === 'stage-items')).toMatchObject({ total: 6, cached: 6, toProcess: 0 });

    // Change one image (as a user editing their data set would): one item is processed again.
    await writeFile(repo.path(`photos/${images[2]}`), await readFile(repo.path(`photos/${images[3]}`)));
    const second = await repo.pipe(['run', 'deglare', '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect(summaryOf(second.stdout).ran).toEqual(['deglare']);
    expect(jsonEvents(second.stdout).find((e) => e.type === 'stage-items')).toMatchObject({ total: 6, cached: 5, toProcess: 1 });
    expect(await readFile(repo.path(`work/deglared/images/${images[2]!.replace(/\.jpg$/, '.png')}`))).toEqual(
      await readFile(repo.path(`work/deglared/images/${images[3]!.replace(/\.jpg$/, '.png')}`)),
    );
  });

  it('a truncated image fails its item, names the file, and leaves outputs and lock intact', async () => {
    repo = await TestRepo.create({
      'pipeline.yaml': `
stages:
  deglare:
    uses: deglare
    params: { images: photos, out: work/deglared, radius: 3, kernel: [5, 5], iterations: 1 }
`,
    });
    // Real images from the synth stage, copied as a user's own photos.
    const src = await TestRepo.create({ 'pipeline.yaml': PIPELINE });
    try {
      expect((await src.pipe(['run', 'synth'])).code).toBe(0);
      for (const f of await readdir(src.path('data/dark/images'))) await repo.write(`photos/${f}`, await readFile(src.path(`data/dark/images/${f}`)));
    } finally {
      await src.dispose();
    }
    expect((await repo.pipe(['run'])).code).toBe(0);
    const lock = await repo.read('pipeline.lock');
    const before = (await readdir(repo.path('work/deglared/images'))).sort();
    const names = (await readdir(repo.path('photos'))).sort();
    const bad = names[1]!;
    const bytes = await readFile(repo.path(`photos/${bad}`));
    await writeFile(repo.path(`photos/${bad}`), bytes.subarray(0, Math.floor(bytes.length / 3)));
    const r = await repo.pipe(['run', '--keep-going']);
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toContain(bad);
    expect(r.stderr + r.stdout).not.toMatch(/\n\s+at .*:\d+:\d+\)?\n/);
    expect(await repo.read('pipeline.lock')).toBe(lock);
    expect((await readdir(repo.path('work/deglared/images'))).sort()).toEqual(before);
  });
});
