/**
 * File layout of a rendered set, the same as a real data set's:
 * <out>/<condition>/images/<name>.jpg, masks/<name>.png and the split lists
 * train.txt / val.txt / test.txt with one `images/x.jpg masks/x.png` a line.
 */
import { makeRng } from './prng.ts';

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

/** File stem of scene `index`: zero-padded so names sort in index order. */
export function imageName(index: number, count: number): string {
  return `scene_${String(index).padStart(Math.max(5, String(count - 1).length), '0')}`;
}

/** The line of a split list for `name`. */
export const listLine = (name: string): string => `images/${name}.jpg masks/${name}.png`;

/**
 * Which split each index belongs to: a seeded shuffle, then the first
 * round(val * n) go to val, the next round(test * n) to test, the rest to
 * train. A split with a positive fraction gets at least one image when
 * there are enough images for every such split.
 */
export function assignSplits(seed: number, count: number, f: { train: number; val: number; test: number }): Split[] {
  const order = Array.from({ length: count }, (_, i) => i);
  const rng = makeRng(seed, 0x5b117);
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const wanted = [f.train, f.val, f.test].filter((x) => x > 0).length;
  const atLeast = (x: number): number => {
    const k = Math.round(x * count);
    return x > 0 && k === 0 && count >= wanted ? 1 : k;
  };
  const nVal = Math.min(count, atLeast(f.val));
  const nTest = Math.min(count - nVal, atLeast(f.test));
  const out: Split[] = new Array<Split>(count).fill('train');
  order.forEach((idx, pos) => {
    out[idx] = pos < nVal ? 'val' : pos < nVal + nTest ? 'test' : 'train';
  });
  return out;
}
