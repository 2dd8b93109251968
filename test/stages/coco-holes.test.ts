/**
 * COCO instances with holes: a ring (a pipe end, a hand wheel seen face-on)
 * cannot be a COCO polygon (polygons are unioned, the hole would count as
 * object), so it is exported as uncompressed column-major RLE; solid
 * instances stay polygons. The RLE decoder here is written from the COCO
 * format description, independent of the encoder.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Json, PerItemStage } from '../../src/stage-api.ts';
import stage from '../../stages/convert/index.ts';
import { findInstances, type CocoRle, type Instance } from '../../stages/convert/instances.ts';
import { convertParams, type ConvertParams } from '../../stages/convert/params.ts';
import { writeImage } from '../../stages/lib/image/io.ts';
import type { GrayImage } from '../../stages/lib/image/types.ts';
import { itemCtx, openCvAndTempDir, setPx, solid, stageCtx } from '../fixtures/images/helpers.ts';

const env = openCvAndTempDir();

/** Decodes COCO uncompressed RLE to a row-major 0/1 mask; checks the counts cover the image exactly. */
function decodeRle(rle: CocoRle): Uint8Array {
  const [h, w] = rle.size;
  const m = new Uint8Array(h * w);
  let p = 0;
  let v = 0;
  for (const c of rle.counts) {
    expect(Number.isInteger(c) && c >= 0).toBe(true);
    for (let i = 0; i < c; i++, p++) if (v) m[(p % h) * w + Math.floor(p / h)] = 1;
    v ^= 1;
  }
  expect(p).toBe(h * w);
  return m;
}

function isRle(s: Instance['segmentation']): s is CocoRle {
  return !Array.isArray(s);
}

function labelsFrom(width: number, height: number, paint: (set: (x: number, y: number, k: number) => void) => void): GrayImage {
  const data = new Uint8Array(width * height);
  paint((x, y, k) => (data[y * width + x] = k));
  return { data, width, height };
}

function rect(set: (x: number, y: number, k: number) => void, x0: number, y0: number, x1: number, y1: number, k: number): void {
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) set(x, y, k);
}

/**
 * 16x12: a class-1 ring (x 2-9, y 1-8, hole x 4-7, y 3-6) with a class-1 L-shaped
 * island in its hole; a class-2 ring along the right edge, top to bottom (x 12-15,
 * one-pixel hole at (13, 5)), so its last run ends the image; a class-2 pixel at
 * (0, 0), so its RLE starts with an empty background run.
 */
function scene(): { labels: GrayImage; ring: Uint8Array } {
  const labels = labelsFrom(16, 12, (set) => {
    rect(set, 2, 1, 9, 8, 1);
    rect(set, 4, 3, 7, 6, 0);
    set(5, 4, 1);
    set(5, 5, 1);
    set(6, 5, 1);
    rect(set, 12, 0, 15, 11, 2); // touches the right, top and bottom edges
    set(13, 5, 0);
    set(0, 0, 2);
  });
  const ring = new Uint8Array(16 * 12);
  for (let y = 1; y <= 8; y++) for (let x = 2; x <= 9; x++) if (!(x >= 4 && x <= 7 && y >= 3 && y <= 6)) ring[y * 16 + x] = 1;
  return { labels, ring };
}

describe('findInstances with holes', () => {
  it('exports a ring as RLE whose decoded mask is exactly its pixels, area the pixel count, bbox unchanged', () => {
    const { labels, ring } = scene();
    const inst = findInstances(env.cv, labels, [1, 2], 0);
    const rings = inst.filter((i) => isRle(i.segmentation));
    expect(rings.map((i) => [i.category, i.bbox, i.area])).toEqual([
      [1, [2, 1, 8, 8], 8 * 8 - 4 * 4],
      [2, [12, 0, 4, 12], 4 * 12 - 1],
    ]);
    const first = rings[0]!.segmentation as CocoRle;
    expect(first.size).toEqual([12, 16]);
    expect(Array.from(decodeRle(first))).toEqual(Array.from(ring));
    // the second ring reaches the last column and both edges: its runs end the image
    const second = decodeRle(rings[1]!.segmentation as CocoRle);
    const want = labels.data.map((k, i) => (k === 2 && i % 16 >= 12 ? 1 : 0));
    expect(Array.from(second)).toEqual(Array.from(want));
    expect(second.reduce((a, b) => a + b, 0)).toBe(rings[1]!.area);
  });

  it('keeps solid instances as polygons, islands inside a hole included', () => {
    const { labels } = scene();
    const inst = findInstances(env.cv, labels, [1], 0);
    const island = inst.find((i) => i.area === 3)!;
    expect(island.bbox).toEqual([5, 4, 2, 2]);
    expect(isRle(island.segmentation)).toBe(false);
    const poly = (island.segmentation as number[][])[0]!;
    // the L's own corners, not the bounding box stand-in used when no contour is found
    const pts = new Set(poly.flatMap((v, k) => (k % 2 === 0 ? [`${v},${poly[k + 1]}`] : [])));
    expect(pts).toEqual(new Set(['5,4', '5,5', '6,5']));
  });

  it('follows the mode: polygon gives the outer polygon only, rle gives RLE for every instance', () => {
    const { labels } = scene();
    const poly = findInstances(env.cv, labels, [1, 2], 0, 'polygon');
    expect(poly.every((i) => Array.isArray(i.segmentation))).toBe(true);
    const ring = poly.find((i) => i.category === 1 && i.area === 48)!;
    const xs = (ring.segmentation as number[][])[0]!.filter((_, k) => k % 2 === 0);
    expect([Math.min(...xs), Math.max(...xs)]).toEqual([2, 9]);
    const rle = findInstances(env.cv, labels, [1, 2], 0, 'rle');
    expect(rle.length).toBe(poly.length);
    expect(rle.every((i) => isRle(i.segmentation))).toBe(true);
    const dot = rle.find((i) => i.category === 2 && i.area === 1)!;
    expect((dot.segmentation as CocoRle).counts).toEqual([0, 1, 16 * 12 - 1]);
    const edge = rle.find((i) => i.category === 2 && i.area === 47)!;
    // column-major: 12 columns of background, then the ring's 4 columns with one hole pixel, nothing after
    expect((edge.segmentation as CocoRle).counts).toEqual([12 * 12, 12 + 5, 1, 12 * 3 - 6]);
  });

  it('RLE masks of random scenes: disjoint, cover each class exactly, match area and bbox', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let t = 0; t < 5; t++) {
      const w = 17 + t * 3;
      const h = 13 + t;
      const labels = labelsFrom(w, h, (set) => {
        for (let b = 0; b < 12; b++) {
          const x0 = Math.floor(rand() * w);
          const y0 = Math.floor(rand() * h);
          const k = 1 + Math.floor(rand() * 2);
          rect(set, x0, y0, Math.min(w - 1, x0 + Math.floor(rand() * 6)), Math.min(h - 1, y0 + Math.floor(rand() * 6)), rand() < 0.25 ? 0 : k);
        }
      });
      const inst = findInstances(env.cv, labels, [1, 2], 0, 'rle');
      const cover = new Uint8Array(w * h);
      for (const i of inst) {
        const m = decodeRle(i.segmentation as CocoRle);
        let area = 0;
        let [minX, minY, maxX, maxY] = [w, h, -1, -1];
        for (let p = 0; p < m.length; p++) {
          if (!m[p]) continue;
          area++;
          expect(labels.data[p]).toBe(i.category);
          expect(cover[p]).toBe(0);
          cover[p] = i.category;
          const [x, y] = [p % w, Math.floor(p / w)];
          [minX, minY, maxX, maxY] = [Math.min(minX, x), Math.min(minY, y), Math.max(maxX, x), Math.max(maxY, y)];
        }
        expect(area).toBe(i.area);
        expect(i.bbox).toEqual([minX, minY, maxX - minX + 1, maxY - minY + 1]);
      }
      expect(Array.from(cover)).toEqual(Array.from(labels.data));
    }
  });
});

describe('convert stage COCO output with holes', () => {
  it('writes a hand wheel (ring) as RLE and a solid pipe as polygon in coco.json', async () => {
    const root = path.join(env.dir, 'repo');
    await mkdir(root, { recursive: true });
    const m = solid(20, 12, [0, 0, 0]);
    for (let y = 1; y <= 9; y++) for (let x = 1; x <= 9; x++) if (Math.abs(x - 5) > 1 || Math.abs(y - 5) > 1) setPx(m, x, y, [128, 0, 0]);
    for (let y = 4; y <= 6; y++) for (let x = 12; x <= 18; x++) setPx(m, x, y, [0, 128, 0]);
    await writeImage(path.join(root, 'masks/w.png'), m, { format: 'png' });
    const s = stage as PerItemStage<ConvertParams>;
    for (const mode of ['auto', 'polygon'] as const) {
      const params = convertParams.parse({ masks: 'masks', out: `labels-${mode}`, polygonEpsilon: 0, cocoSegmentation: mode });
      const res = await s.processItem(itemCtx(root, params, 'masks', 'w.png', path.join(env.dir, `items-${mode}`)));
      await s.reduce!(stageCtx(root, params), [{ rel: 'w.png', summary: res.summary as Json }]);
      const coco = JSON.parse(await readFile(path.join(root, `labels-${mode}/coco.json`), 'utf8'));
      const [wheel, pipe] = coco.annotations;
      expect([wheel.category_id, wheel.bbox, wheel.area, wheel.iscrowd]).toEqual([1, [1, 1, 9, 9], 81 - 9, 0]);
      expect(Array.isArray(pipe.segmentation)).toBe(true);
      if (mode === 'polygon') {
        expect(Array.isArray(wheel.segmentation)).toBe(true);
        continue;
      }
      expect(wheel.segmentation.size).toEqual([12, 20]);
      const mask = decodeRle(wheel.segmentation);
      for (let y = 0; y < 12; y++) for (let x = 0; x < 20; x++) expect(mask[y * 20 + x], `(${x},${y})`).toBe(m.data[(y * 20 + x) * 3] === 128 ? 1 : 0);
    }
  });
});
