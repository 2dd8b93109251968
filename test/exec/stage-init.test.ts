import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FailureError, failure } from '../../src/failure.ts';
import { runStageInProcess } from '../../src/exec/in-process.ts';
import { makeStageContext, normaliseRel, resolveStagePath, type StageInit } from '../../src/exec/stage-init.ts';
import type { WholeStage } from '../../src/stage-api.ts';
import type { Progress } from '../../src/events.ts';
import { z } from 'zod';

const init: StageInit = {
  stage: 's@x',
  params: { a: 1 },
  root: '/repo',
  redirects: [
    { rel: 'data/out', abs: '/tmp/t1' },
    { rel: 'data/out/nested', abs: '/tmp/t2' },
    { rel: 'metrics.json', abs: '/tmp/t3/metrics.json' },
  ],
  workDir: '/work/s',
  gpus: ['1'],
  threads: 2,
};

describe('stage paths', () => {
  it.each([
    ['data/out', '/tmp/t1'],
    ['./data/out/', '/tmp/t1'],
    ['data/out/a/b.png', '/tmp/t1/a/b.png'],
    ['data//out/./x.png', '/tmp/t1/x.png'],
    ['data/out/nested/y.png', '/tmp/t2/y.png'],
    ['data/outside.png', '/repo/data/outside.png'],
    ['data/output/z.png', '/repo/data/output/z.png'],
    ['metrics.json', '/tmp/t3/metrics.json'],
    ['data\\out\\w.png', '/tmp/t1/w.png'],
    ['/abs/file', '/abs/file'],
  ])('%s -> %s', (rel, want) => {
    expect(resolveStagePath(init, rel)).toBe(path.normalize(want));
  });

  it('normalises', () => {
    expect(normaliseRel('./a/b/')).toBe('a/b');
    expect(normaliseRel('.')).toBe('.');
  });

  it('makeStageContext exposes init and hooks', () => {
    const seen: Progress[] = [];
    const ac = new AbortController();
    const ctx = makeStageContext(init, { progress: (p) => seen.push(p), log: () => {}, signal: ac.signal });
    ctx.progress({ step: 1 });
    expect(seen).toEqual([{ step: 1 }]);
    expect(ctx).toMatchObject({ stage: 's@x', params: { a: 1 }, root: '/repo', workDir: '/work/s', gpus: ['1'], threads: 2 });
    expect(ctx.signal).toBe(ac.signal);
  });
});

const stage = (run: WholeStage['run']): WholeStage => ({
  name: 't',
  description: '',
  kind: 'whole',
  params: z.object({}),
  io: () => ({ deps: [], outs: [], metrics: [] }),
  run,
});
const noop = { onProgress: () => {}, onLog: () => {} };

describe('runStageInProcess', () => {
  it('ok on success, with progress and logs forwarded', async () => {
    const logs: string[] = [];
    const r = await runStageInProcess(stage(async (ctx) => ctx.log(`p=${ctx.path('data/out/f')}`)), init, {
      signal: new AbortController().signal,
      onProgress: () => {},
      onLog: (l) => logs.push(l),
    });
    expect(r.ok).toBe(true);
    expect(logs).toEqual(['p=/tmp/t1/f']);
  });

  it('a thrown FailureError gives its failure, tagged with the stage', async () => {
    const r = await runStageInProcess(stage(async () => { throw new FailureError(failure('missing-out', 'no model.json')); }), init, { signal: new AbortController().signal, ...noop });
    expect(r).toEqual({ ok: false, error: { kind: 'missing-out', message: 'no model.json', stage: 's@x' } });
  });

  it('any other throw is internal with its stack', async () => {
    const r = await runStageInProcess(stage(async () => { throw new TypeError('oops'); }), init, { signal: new AbortController().signal, ...noop });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatchObject({ kind: 'internal', message: 'oops', stage: 's@x' });
      expect(r.error.stderrTail?.[0]).toMatch(/TypeError: oops/);
    }
  });

  it('a throw after abort is reported as killed', async () => {
    const ac = new AbortController();
    const r = await runStageInProcess(
      stage(async (ctx) => {
        ac.abort();
        ctx.signal.throwIfAborted();
      }),
      init,
      { signal: ac.signal, ...noop },
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe('killed');
  });
});
