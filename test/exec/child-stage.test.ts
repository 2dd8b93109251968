import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Progress } from '../../src/events.ts';
import { runStageInChild } from '../../src/exec/child-stage.ts';
import type { StageInit } from '../../src/exec/stage-init.ts';
import { processGone, tempDir, waitFor } from './helpers.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/stages/${name}.ts`, import.meta.url));

let tmp: { dir: string; cleanup(): Promise<void> };
beforeEach(async () => (tmp = await tempDir()));
afterEach(async () => tmp.cleanup());

function init(stage: string, params: unknown, over: Partial<StageInit> = {}): StageInit {
  return { stage, params, root: tmp.dir, redirects: [], workDir: path.join(tmp.dir, 'work'), gpus: [], threads: 1, ...over };
}

describe('runStageInChild', () => {
  it('two children run in distinct processes with their own CUDA_VISIBLE_DEVICES, outs redirected', async () => {
    const progress: Progress[][] = [[], []];
    const logs: string[][] = [[], []];
    const run = (i: number) =>
      runStageInChild({
        modulePath: fixture('record-env'),
        init: init(`train@${i}`, { out: 'out/info.json' }, { redirects: [{ rel: 'out', abs: path.join(tmp.dir, `tmp${i}`) }], gpus: [String(i)], threads: 2 }),
        env: { CUDA_VISIBLE_DEVICES: String(i) },
        signal: new AbortController().signal,
        onProgress: (p) => progress[i]!.push(p),
        onLog: (l) => logs[i]!.push(l),
      });
    const results = await Promise.all([run(0), run(1)]);
    expect(results).toEqual([
      { ok: true, value: undefined },
      { ok: true, value: undefined },
    ]);
    const info = await Promise.all([0, 1].map(async (i) => JSON.parse(await readFile(path.join(tmp.dir, `tmp${i}`, 'info.json'), 'utf8'))));
    expect(info[0].pid).not.toBe(info[1].pid);
    expect(info[0].pid).not.toBe(process.pid);
    expect([info[0].cuda, info[1].cuda]).toEqual(['0', '1']);
    expect(info[1]).toMatchObject({ gpus: ['1'], threads: 2, stage: 'train@1' });
    for (const i of [0, 1]) {
      expect(progress[i]).toContainEqual({ step: 1, total: 2, message: 'starting' });
      expect(progress[i]).toContainEqual({ step: 2, total: 2 });
      expect(logs[i]).toEqual(expect.arrayContaining(['hello from the stage', 'console line', 'stderr line']));
    }
  });

  it('a child that exits without a result gives a failure with the stderr tail', async () => {
    const r = await runStageInChild({
      modulePath: fixture('crash'),
      init: init('crashy', { how: 'exit' }),
      env: {},
      signal: new AbortController().signal,
      onProgress: () => {},
      onLog: () => {},
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ kind: 'exit-non-zero', stage: 'crashy' });
    expect(r.error.message).toMatch(/code 3/);
    expect(r.error.stderrTail).toHaveLength(20);
    expect(r.error.stderrTail!.at(-1)).toBe('fatal: out of cheese');
  });

  it('a stage that throws gives its error as the failure', async () => {
    const r = await runStageInChild({
      modulePath: fixture('crash'),
      init: init('crashy', { how: 'fail' }),
      env: {},
      signal: new AbortController().signal,
      onProgress: () => {},
      onLog: () => {},
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'internal', message: 'the stage gave up', stage: 'crashy' });
  });

  it('abort kills a child that ignores SIGTERM and gives killed', async () => {
    const pidFile = path.join(tmp.dir, 'pid');
    const ac = new AbortController();
    const running = runStageInChild({
      modulePath: fixture('hang'),
      init: init('stuck', { pidFile }),
      env: {},
      signal: ac.signal,
      onProgress: () => {},
      onLog: () => {},
    });
    const pid = await waitFor(async () => {
      const t = await readFile(pidFile, 'utf8').catch(() => '');
      return t ? Number(t) : undefined;
    }, 'the child pid', 60_000);
    expect(processGone(pid)).toBe(false);
    ac.abort();
    const r = await running;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe('killed');
    expect(processGone(pid)).toBe(true);
  });
});
