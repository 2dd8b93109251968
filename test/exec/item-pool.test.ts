import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createItemPool, type ItemInit } from '../../src/exec/item-pool.ts';
import { tempDir } from './helpers.ts';

const modulePath = fileURLToPath(new URL('../fixtures/stages/items.ts', import.meta.url));

let tmp: { dir: string; cleanup(): Promise<void> };
beforeEach(async () => (tmp = await tempDir()));
afterEach(async () => tmp.cleanup());

async function makeItems(names: string[], params: unknown = {}): Promise<ItemInit[]> {
  await mkdir(path.join(tmp.dir, 'in'), { recursive: true });
  return Promise.all(
    names.map(async (n) => {
      const input = path.join(tmp.dir, 'in', n);
      await writeFile(input, `text of ${n}`);
      const outDir = path.join(tmp.dir, 'out', n);
      await mkdir(outDir, { recursive: true });
      return { stage: 'items@t', params, root: tmp.dir, input, rel: n, outDir };
    }),
  );
}

describe('createItemPool', () => {
  it('warm() starts a worker that loads the stage before the first item arrives', async () => {
    const mark = path.join(tmp.dir, 'loaded');
    process.env.ITEMS_FIXTURE_LOADED_MARK = mark;
    const pool = createItemPool({ modulePath, size: 2, onLog: () => {} });
    try {
      pool.warm();
      pool.warm(); // a second call starts nothing more
      let marks: string[] = [];
      for (let i = 0; i < 600 && marks.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        marks = (await readdir(tmp.dir)).filter((f) => f.startsWith('loaded.'));
      }
      expect(marks).toHaveLength(1);
      const [item] = await makeItems(['a.jpg']);
      const r = await pool.run(item!);
      expect(r.ok).toBe(true);
      // The item ran in the warmed worker, which had loaded the module once.
      const s = r.ok ? (r.value.summary as { thread: number; loads: number }) : undefined;
      expect(marks[0]).toBe(`loaded.${s?.thread}`);
      expect(s?.loads).toBe(1);
    } finally {
      delete process.env.ITEMS_FIXTURE_LOADED_MARK;
      await pool.close();
    }
  });

  it('processes items in worker threads, at most `size` workers, module loaded once per worker', async () => {
    const logs: [string, string][] = [];
    const pool = createItemPool({ modulePath, size: 2, onLog: (rel, line) => logs.push([rel, line]) });
    try {
      const items = await makeItems(['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg'], { delayMs: 20 });
      const results = await Promise.all(items.map((it) => pool.run(it)));
      const threads = new Set<number>();
      for (const [i, r] of results.entries()) {
        expect(r.ok).toBe(true);
        if (!r.ok) continue;
        const s = r.value.summary as { thread: number; loads: number; len: number };
        expect(s.thread).toBeGreaterThan(0); // 0 is the main thread
        expect(s.loads).toBe(1);
        expect(s.len).toBe(`text of ${items[i]!.rel}`.length);
        threads.add(s.thread);
        const stem = items[i]!.rel.replace('.jpg', '.txt');
        expect(await readFile(path.join(items[i]!.outDir, stem), 'utf8')).toBe(`TEXT OF ${items[i]!.rel.toUpperCase()}`);
      }
      expect(threads.size).toBeGreaterThanOrEqual(1);
      expect(threads.size).toBeLessThanOrEqual(2);
      expect(logs).toContainEqual(['c.jpg', 'processing c.jpg']);
      expect(logs).toContainEqual(['c.jpg', 'console c.jpg']);
    } finally {
      await pool.close();
    }
  });

  it('a throwing item fails alone (worker carries on); a worker calling process.exit fails its item and is replaced', async () => {
    const pool = createItemPool({ modulePath, size: 1, onLog: () => {} });
    try {
      const items = await makeItems(['a.jpg', 'bad.jpg', 'b.jpg', 'die.jpg', 'c.jpg']);
      const [a, bad, b, die, c] = await Promise.all(items.map((it) => pool.run(it)));
      const thread = (r: typeof a) => (r!.ok ? (r!.value.summary as { thread: number }).thread : -1);
      expect([a!.ok, b!.ok, c!.ok]).toEqual([true, true, true]);
      expect(bad!.ok).toBe(false);
      if (!bad!.ok) {
        expect(bad!.error.kind).toBe('stage-error');
        expect(bad!.error.message).toMatch(/bad\.jpg/);
        expect(bad!.error.message).toMatch(/cannot decode/);
        expect(bad!.error.file).toBe(items[1]!.input);
      }
      expect(thread(b)).toBe(thread(a)); // same single worker before and after the throw
      expect(die!.ok).toBe(false);
      if (!die!.ok) {
        expect(die!.error.message).toMatch(/die\.jpg/);
        expect(die!.error.message).toMatch(/exited with code 7/);
        expect(die!.error.file).toBe(items[3]!.input);
      }
      expect(thread(c)).not.toBe(thread(a)); // a fresh worker took over
    } finally {
      await pool.close();
    }
  });

  it('a module that is not a per-item stage fails every item with a clear message', async () => {
    const pool = createItemPool({ modulePath: fileURLToPath(new URL('../fixtures/stages/crash.ts', import.meta.url)), size: 1, onLog: () => {} });
    try {
      const [r] = await Promise.all((await makeItems(['a.jpg'])).map((it) => pool.run(it)));
      expect(r!.ok).toBe(false);
      if (!r!.ok) expect(r!.error.message).toMatch(/per-item stage/);
    } finally {
      await pool.close();
    }
  });

  it('close() fails queued items as killed', async () => {
    const pool = createItemPool({ modulePath, size: 1, onLog: () => {} });
    const items = await makeItems(['a.jpg', 'b.jpg', 'c.jpg'], { delayMs: 300 });
    const pending = items.map((it) => pool.run(it));
    await pool.close();
    const results = await Promise.all(pending);
    expect(results.every((r) => !r.ok && r.error.kind === 'killed')).toBe(true);
    const after = await pool.run(items[0]!);
    expect(after.ok).toBe(false);
  });
});
