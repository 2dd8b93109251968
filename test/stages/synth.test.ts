import { afterAll, describe, expect, it, beforeAll } from 'vitest';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import stage from '../../stages/synth/index.ts';
import { synthParams, type SynthParams } from '../../stages/synth/params.ts';
import { renderIndex, PALETTE } from '../../stages/synth/render.ts';
import { assignSplits } from '../../stages/synth/layout.ts';
import type { StageContext, WholeStage } from '../../src/stage-api.ts';

const synth = stage as WholeStage<SynthParams>;
const temps: string[] = [];
const tempDir = async (): Promise<string> => {
  const d = await mkdtemp(path.join(os.tmpdir(), 'pipe-synth-'));
  temps.push(d);
  return d;
};
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

/** A hand-made context the way the engine builds one: outputs under a temp root. */
async function runSynth(raw: Record<string, unknown>, threads = 2): Promise<{ root: string; out: string; params: SynthParams }> {
  const root = await tempDir();
  const params = synth.params.parse(raw);
  const ctx: StageContext<SynthParams> = {
    stage: 'synth',
    params,
    root,
    path: (rel) => path.join(root, rel),
    workDir: await tempDir(),
    progress: () => {},
    log: () => {},
    signal: new AbortController().signal,
    gpus: [],
    threads,
  };
  await synth.run(ctx);
  return { root, out: path.join(root, params.out), params };
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const abs = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(abs, base)));
    else out.push(path.relative(base, abs));
  }
  return out.sort();
}

async function rgbOf(file: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const SMALL = { width: 64, height: 64, count: 6, seed: 11 };

describe('synth params', () => {
  it('parses {} to the documented defaults', () => {
    const p = synthParams.parse({});
    expect(p).toMatchObject({
      out: 'data/synth',
      width: 128,
      height: 128,
      count: 160,
      conditions: ['bright', 'dark'],
      paired: true,
      jpegQuality: 90,
      splits: { train: 0.7, val: 0.15, test: 0.15 },
    });
    expect(p.water.beta[0]).toBeGreaterThan(p.water.beta[1]);
    expect(p.scene.valveTypes).toEqual(['handwheel', 'gate', 'butterfly']);
    // A partial nested override keeps the other defaults.
    const q = synthParams.parse({ dark: { laser: { count: [2, 2] } } });
    expect(q.dark.laser.count).toEqual([2, 2]);
    expect(q.dark.laser.colour).toEqual(p.dark.laser.colour);
    expect(q.dark.noise).toBe(p.dark.noise);
  });

  it('declares its output folder and metrics file', () => {
    const io = synth.io(synthParams.parse({ out: 'data/x' }));
    expect(io).toEqual({ deps: [], outs: ['data/x'], metrics: ['data/x/stats.json'] });
  });

  it.each([
    [{ width: -5 }, ['width'], /width/],
    [{ height: 0 }, ['height'], /height/],
    [{ count: 0 }, ['count'], /count/],
    [{ conditions: ['bright', 'dim'] }, ['conditions', 1], /conditions/],
    [{ conditions: [] }, ['conditions'], /conditions/],
    [{ splits: { train: 0.5 } }, ['splits'], /splits/],
    [{ jpegQuality: 101 }, ['jpegQuality'], /jpegQuality/],
    [{ dark: { laser: { count: [3, 1] } } }, ['dark', 'laser', 'count'], /dark\.laser\.count/],
    [{ water: { beta: [1, 2] } }, ['water', 'beta'], /water\.beta/],
    [{ scene: { valveTypes: ['globe'] } }, ['scene', 'valveTypes', 0], /valveTypes/],
  ])('rejects %j naming the param', (raw, where, message) => {
    const r = synth.params.safeParse(raw);
    expect(r.success).toBe(false);
    const issue = r.error!.issues[0]!;
    expect(issue.path).toEqual(where);
    expect(issue.message).toMatch(message);
  });

  it('rejects unknown params by name', () => {
    const r = synth.params.safeParse({ sead: 3 });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error!.issues)).toContain('sead');
    expect(synth.params.safeParse({ dark: { laserz: {} } }).success).toBe(false);
  });
});

describe('synth splits', () => {
  it('splits by the fractions, seeded, every index once', () => {
    const s = assignSplits(3, 20, { train: 0.7, val: 0.15, test: 0.15 });
    expect(s.filter((x) => x === 'train')).toHaveLength(14);
    expect(s.filter((x) => x === 'val')).toHaveLength(3);
    expect(s.filter((x) => x === 'test')).toHaveLength(3);
    expect(assignSplits(3, 20, { train: 0.7, val: 0.15, test: 0.15 })).toEqual(s);
    expect(assignSplits(4, 20, { train: 0.7, val: 0.15, test: 0.15 })).not.toEqual(s);
    // Small sets still get one image in each split asked for.
    expect(new Set(assignSplits(1, 3, { train: 0.8, val: 0.1, test: 0.1 }))).toEqual(new Set(['train', 'val', 'test']));
    expect(assignSplits(1, 5, { train: 1, val: 0, test: 0 })).toEqual(new Array(5).fill('train'));
  });
});

describe('synth stage output', () => {
  let a: { out: string; params: SynthParams };
  let b: { out: string };
  beforeAll(async () => {
    // Same params, different worker counts: the bytes must not depend on scheduling.
    a = await runSynth(SMALL, 2);
    b = await runSynth(SMALL, 1);
  });

  it('lays files out like a real data set', async () => {
    const files = await listFiles(a.out);
    for (const c of ['bright', 'dark']) {
      expect(files.filter((f) => f.startsWith(`${c}/images/`) && f.endsWith('.jpg'))).toHaveLength(6);
      expect(files.filter((f) => f.startsWith(`${c}/masks/`) && f.endsWith('.png'))).toHaveLength(6);
      const listed: string[] = [];
      for (const s of ['train', 'val', 'test']) {
        const text = await readFile(path.join(a.out, c, `${s}.txt`), 'utf8');
        const lines = text.split('\n').filter(Boolean);
        expect(lines.length, `${c}/${s}.txt`).toBeGreaterThan(0);
        for (const line of lines) {
          const [img, mask] = line.split(' ');
          expect(line).toMatch(/^images\/scene_\d+\.jpg masks\/scene_\d+\.png$/);
          expect(img!.replace('images/', '').replace('.jpg', '')).toBe(mask!.replace('masks/', '').replace('.png', ''));
          await stat(path.join(a.out, c, img!));
          await stat(path.join(a.out, c, mask!));
          listed.push(img!);
        }
      }
      // Every image is in exactly one split.
      expect(new Set(listed).size).toBe(6);
      expect(listed).toHaveLength(6);
    }
    const img = await sharp(path.join(a.out, 'bright/images', 'scene_00000.jpg')).metadata();
    expect([img.format, img.width, img.height]).toEqual(['jpeg', 64, 64]);
    const sheet = await sharp(path.join(a.out, 'preview.png')).metadata();
    expect(sheet.format).toBe('png');
    expect(sheet.width!).toBeGreaterThan(4 * 64);
    expect(sheet.height!).toBeGreaterThan(6 * 64);
  });

  it('gives byte-identical output for the same seed and params', async () => {
    const fa = await listFiles(a.out);
    expect(await listFiles(b.out)).toEqual(fa);
    for (const f of fa) {
      const [x, y] = await Promise.all([readFile(path.join(a.out, f)), readFile(path.join(b.out, f))]);
      expect(x.equals(y), f).toBe(true);
    }
  });

  it('gives different scenes for a different seed', async () => {
    const c = await runSynth({ ...SMALL, seed: 12, count: 2 });
    let differentMasks = 0;
    for (const n of ['scene_00000', 'scene_00001']) {
      const [x, y] = await Promise.all([
        readFile(path.join(a.out, 'bright/images', `${n}.jpg`)),
        readFile(path.join(c.out, 'bright/images', `${n}.jpg`)),
      ]);
      expect(x.equals(y)).toBe(false);
      const [m1, m2] = await Promise.all([rgbOf(path.join(a.out, 'bright/masks', `${n}.png`)), rgbOf(path.join(c.out, 'bright/masks', `${n}.png`))]);
      if (!m1.data.equals(m2.data)) differentMasks++;
    }
    expect(differentMasks).toBeGreaterThan(0);
  });

  it('writes masks with only the three palette colours, shared by both conditions when paired', async () => {
    const allowed = new Set(PALETTE.map((c) => c.join(',')));
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const n = `scene_0000${i}.png`;
      const bright = await rgbOf(path.join(a.out, 'bright/masks', n));
      const dark = await rgbOf(path.join(a.out, 'dark/masks', n));
      expect(bright.data.equals(dark.data)).toBe(true);
      for (let k = 0; k < bright.data.length; k += 3) seen.add(`${bright.data[k]},${bright.data[k + 1]},${bright.data[k + 2]}`);
    }
    for (const c of seen) expect(allowed.has(c), c).toBe(true);
    // Over six scenes all three classes occur.
    expect(seen.size).toBe(3);
  });

  it('writes statistics where the conditions differ as the water model says', async () => {
    const s = JSON.parse(await readFile(path.join(a.out, 'stats.json'), 'utf8'));
    expect(s.bright.images).toBe(6);
    expect(s.dark.meanBrightness).toBeLessThan(s.bright.meanBrightness);
    expect(s.dark.edgeContrast).toBeLessThan(s.bright.edgeContrast);
    expect(s.dark.edgeContrast).toBeGreaterThan(0);
    expect(s.dark.laserPixelShare).toBeGreaterThan(0.002);
    expect(s.bright.laserPixelShare).toBe(0);
    expect(s.bright.valveShare).toBeGreaterThan(0);
    expect(s.bright.pipeShare).toBeGreaterThan(0);
  });

  it('renders only the conditions asked for, the same images as in a full run', async () => {
    const r = await runSynth({ ...SMALL, count: 3, conditions: ['dark'], preview: 0 });
    const files = await listFiles(r.out);
    expect(files.some((f) => f.startsWith('bright/'))).toBe(false);
    expect(files).not.toContain('preview.png');
    // Images depend only on (seed, index, condition, params): the run of all conditions made the same file.
    const [x, y] = await Promise.all([
      readFile(path.join(r.out, 'dark/images/scene_00001.jpg')),
      readFile(path.join(a.out, 'dark/images/scene_00001.jpg')),
    ]);
    expect(x.equals(y)).toBe(true);
  });
});

describe('synth conditions and pairing', () => {
  it('renders independent geometry per condition when paired is false', async () => {
    const r = await runSynth({ ...SMALL, count: 2, paired: false });
    let differ = 0;
    for (const n of ['scene_00000.png', 'scene_00001.png']) {
      const x = await rgbOf(path.join(r.out, 'bright/masks', n));
      const y = await rgbOf(path.join(r.out, 'dark/masks', n));
      if (!x.data.equals(y.data)) differ++;
    }
    expect(differ).toBeGreaterThan(0);
  });

  it('stops when aborted', async () => {
    const root = await tempDir();
    const ac = new AbortController();
    const params = synth.params.parse({ ...SMALL, count: 50 });
    const run = synth.run({
      stage: 'synth', params, root, path: (rel) => path.join(root, rel), workDir: root,
      progress: (p) => { if ((p.step ?? 0) >= 2) ac.abort(new Error('stop')); },
      log: () => {}, signal: ac.signal, gpus: [], threads: 2,
    });
    await expect(run).rejects.toThrow('stop');
    expect((await readdir(path.join(root, 'data/synth/bright/images'))).length).toBeLessThan(50);
  });
});

describe('synth geometry (water, noise, laser and snow off)', () => {
  // Clean optics: what the camera sees is the lit surface itself.
  const clean = synthParams.parse({
    width: 96,
    height: 96,
    seed: 5,
    conditions: ['bright'],
    camera: { blur: 0 },
    water: { beta: [0, 0, 0] },
    bright: { noise: 0, marineSnow: 0, vignetting: 0 },
  });

  it('puts image edges where the mask edges are', () => {
    let boundary = 0;
    let boundaryN = 0;
    let inside = 0;
    let insideN = 0;
    let valvePixels = 0;
    for (let i = 0; i < 8; i++) {
      const [f] = renderIndex(clean, i, ['bright']);
      const { image, mask } = f!;
      const W = clean.width;
      const isValve = (k: number): boolean => mask[3 * k] === 128;
      const diff = (k: number, j: number): number =>
        Math.abs(image[3 * k]! - image[3 * j]!) + Math.abs(image[3 * k + 1]! - image[3 * j + 1]!) + Math.abs(image[3 * k + 2]! - image[3 * j + 2]!);
      for (let y = 0; y < clean.height; y++) {
        for (let x = 0; x < W; x++) {
          const k = y * W + x;
          if (isValve(k)) valvePixels++;
          for (const j of [x + 1 < W ? k + 1 : -1, y + 1 < clean.height ? k + W : -1]) {
            if (j < 0) continue;
            if (isValve(k) !== isValve(j)) {
              boundary += diff(k, j);
              boundaryN++;
            } else if (isValve(k)) {
              inside += diff(k, j);
              insideN++;
            }
          }
        }
      }
    }
    expect(valvePixels).toBeGreaterThan(100);
    // Across a valve's outline the image jumps; inside it, it changes smoothly.
    expect(boundary / boundaryN).toBeGreaterThan(3 * (inside / insideN));
  });

  it('draws every valve pixel, and only those, as a valve in the image', () => {
    // Valves are generated last, so the same seed with no valves gives the same pipes,
    // rocks and background. With pixel-local optics and a fixed exposure, the pixels a
    // valve changes must be exactly the valve's mask.
    const fixed = { ...clean, bright: { ...clean.bright, exposure: 1 } };
    const none = { ...fixed, scene: { ...fixed.scene, valves: [0, 0] as [number, number] } };
    let valvePixels = 0;
    let changedValve = 0;
    for (let i = 0; i < 8; i++) {
      const [withV] = renderIndex(fixed, i, ['bright']);
      const [noV] = renderIndex(none, i, ['bright']);
      const a = withV!.image;
      const b = noV!.image;
      for (let k = 0; k < a.length / 3; k++) {
        const changed = a[3 * k] !== b[3 * k] || a[3 * k + 1] !== b[3 * k + 1] || a[3 * k + 2] !== b[3 * k + 2];
        if (withV!.mask[3 * k] === 128) {
          valvePixels++;
          if (changed) changedValve++;
          expect(noV!.mask[3 * k]).toBe(0);
        } else {
          expect(changed, `scene ${i} pixel ${k} changed outside the valve mask`).toBe(false);
          expect(noV!.mask[3 * k + 1]).toBe(withV!.mask[3 * k + 1]);
        }
      }
    }
    expect(valvePixels).toBeGreaterThan(100);
    expect(changedValve / valvePixels).toBeGreaterThan(0.97);
  });
});
