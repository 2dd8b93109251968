import { describe, expect, it } from 'vitest';
import { inLanes } from '../../src/exec/lanes.ts';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('inLanes', () => {
  it('takes every item once, in order, never more than `lanes` at a time', async () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const started: number[] = [];
    let running = 0;
    let most = 0;
    await inLanes(items, 3, new AbortController().signal, async (i) => {
      started.push(i);
      most = Math.max(most, ++running);
      await tick();
      running--;
    });
    expect(started).toEqual(items);
    expect(most).toBe(3);
  });

  it('takes no new item once aborted; what is running finishes', async () => {
    const ac = new AbortController();
    const done: number[] = [];
    await inLanes([1, 2, 3, 4, 5, 6], 2, ac.signal, async (i) => {
      if (i === 3) ac.abort();
      await tick();
      done.push(i);
    });
    expect(done.sort()).toEqual([1, 2, 3]); // 2 was running when 3 aborted; nothing after
  });

  it('copes with no items and with more lanes than items', async () => {
    const seen: string[] = [];
    await inLanes([], 4, new AbortController().signal, async () => {});
    await inLanes(['a'], 8, new AbortController().signal, async (x) => void seen.push(x));
    expect(seen).toEqual(['a']);
  });
});
