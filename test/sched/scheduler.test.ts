import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { downstreamDepth, schedule, type SchedStage } from '../../src/sched/scheduler.ts';

const st = (name: string, deps: string[] = [], cpu = 1, gpu = 0): SchedStage => ({ name, deps, cpu, gpu });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Record_ {
  start: number;
  end: number;
  gpus: string[];
  cpu: number;
}

/** Runs `stages` with a fake executor that sleeps a little and records what it was given. */
async function runAll(
  stages: SchedStage[],
  o: { jobs?: number; gpus?: string[]; keepGoing?: boolean; fail?: string[]; reject?: string[]; signal?: AbortSignal; onStart?(name: string): void; ms?: number } = {},
) {
  const recs = new Map<string, Record_>();
  const order: string[] = [];
  const notRun = new Map<string, string>();
  await schedule({
    stages,
    jobs: o.jobs ?? 2,
    gpus: o.gpus ?? [],
    keepGoing: o.keepGoing ?? false,
    signal: o.signal ?? new AbortController().signal,
    async run(name, grant) {
      const start = performance.now();
      order.push(name);
      o.onStart?.(name);
      await sleep(o.ms ?? 40);
      recs.set(name, { start, end: performance.now(), gpus: grant.gpus, cpu: grant.cpu });
      if (o.reject?.includes(name)) throw new Error('boom');
      return !o.fail?.includes(name);
    },
    onNotRun(name, because) {
      expect(notRun.has(name)).toBe(false); // reported once
      notRun.set(name, because);
    },
  });
  return { recs, order, notRun };
}

const overlap = (a: Record_, b: Record_) => a.start < b.end && b.start < a.end;

describe('downstreamDepth', () => {
  it('is the longest chain of dependents', () => {
    const d = downstreamDepth([st('a'), st('b', ['a']), st('c', ['b']), st('x'), st('y', ['a'])]);
    expect(Object.fromEntries(d)).toEqual({ a: 2, b: 1, c: 0, x: 0, y: 0 });
  });
});

describe('schedule', () => {
  it('runs independent stages in parallel (their intervals overlap)', async () => {
    const { recs } = await runAll([st('a'), st('b')], { jobs: 2 });
    expect(overlap(recs.get('a')!, recs.get('b')!)).toBe(true);
  });

  it('with one job, stages do not overlap', async () => {
    const { recs } = await runAll([st('a'), st('b')], { jobs: 1 });
    expect(overlap(recs.get('a')!, recs.get('b')!)).toBe(false);
  });

  it('a 2-slot stage runs alone on 2 jobs; cpu: 8 is clamped and still runs', async () => {
    const { recs } = await runAll([st('big', [], 8), st('small')], { jobs: 2 });
    expect(recs.get('big')!.cpu).toBe(2);
    expect(overlap(recs.get('big')!, recs.get('small')!)).toBe(false);
  });

  it('respects dependencies (diamond)', async () => {
    const { recs } = await runAll([st('d', ['b', 'c']), st('b', ['a']), st('c', ['a']), st('a')], { jobs: 2 });
    const r = (n: string) => recs.get(n)!;
    expect(r('b').start).toBeGreaterThanOrEqual(r('a').end);
    expect(r('c').start).toBeGreaterThanOrEqual(r('a').end);
    expect(r('d').start).toBeGreaterThanOrEqual(Math.max(r('b').end, r('c').end));
    expect(overlap(r('b'), r('c'))).toBe(true);
  });

  it('starts the critical path first', async () => {
    const { order } = await runAll([st('lone'), st('a'), st('b', ['a']), st('c', ['b'])], { jobs: 1, ms: 5 });
    expect(order[0]).toBe('a');
    expect(order).toHaveLength(4);
  });

  it('stages caught in a cycle (a planner bug) are reported not-run instead of hanging', async () => {
    const { order, notRun } = await runAll([st('a', ['b']), st('b', ['a']), st('c')], { jobs: 1, ms: 1 });
    expect(order).toEqual(['c']);
    expect(notRun.get('a')).toMatch(/cycle/);
    expect(notRun.get('b')).toMatch(/cycle/);
  });

  it('ignores deps outside the run', async () => {
    const { order, notRun } = await runAll([st('b', ['elsewhere'])], { jobs: 1, ms: 1 });
    expect(order).toEqual(['b']);
    expect(notRun.size).toBe(0);
  });

  it('without keepGoing, the first failure stops new stages but lets running ones finish', async () => {
    // jobs 2: 'a' fails while 'slow' runs; 'later' (independent, queued) and 'child' (of a) never start.
    const stages = [st('a'), st('slow'), st('later'), st('child', ['a'])];
    const recs = new Map<string, boolean>();
    const notRun = new Map<string, string>();
    await schedule({
      stages,
      jobs: 2,
      gpus: [],
      keepGoing: false,
      signal: new AbortController().signal,
      async run(name) {
        await sleep(name === 'slow' ? 120 : 10);
        recs.set(name, true);
        return name !== 'a';
      },
      onNotRun: (n, b) => notRun.set(n, b),
    });
    expect([...recs.keys()].sort()).toEqual(['a', 'slow']);
    expect(notRun.get('child')).toMatch(/'a'.*failed/);
    expect(notRun.get('later')).toMatch(/'a' failed/);
    expect(notRun.has('slow')).toBe(false);
  });

  it('with keepGoing, everything not downstream of a failure runs', async () => {
    const { order, notRun } = await runAll([st('a'), st('b'), st('c', ['a']), st('d', ['c']), st('e', ['b'])], {
      jobs: 1,
      keepGoing: true,
      fail: ['a'],
      ms: 2,
    });
    expect(order.sort()).toEqual(['a', 'b', 'e']);
    expect(notRun.get('c')).toMatch(/depends on 'a'/);
    expect(notRun.get('d')).toMatch(/depends on 'a'/); // names the stage that actually failed
    expect([...notRun.keys()].sort()).toEqual(['c', 'd']);
  });

  it('a run() that rejects counts as a failure', async () => {
    const { notRun } = await runAll([st('a'), st('b', ['a'])], { jobs: 1, reject: ['a'], ms: 1 });
    expect(notRun.get('b')).toMatch(/'a'/);
  });

  it('on abort nothing new starts; running stages are awaited', async () => {
    const ac = new AbortController();
    const { recs, notRun } = await runAll([st('a'), st('b'), st('c', ['a'])], {
      jobs: 1,
      signal: ac.signal,
      onStart: (n) => n === 'a' && ac.abort(),
    });
    expect([...recs.keys()]).toEqual(['a']); // a finished (recorded after its sleep) before schedule resolved
    expect(notRun.get('b')).toMatch(/interrupted/);
    expect(notRun.get('c')).toMatch(/interrupted/);
  });

  it('an already-aborted signal runs nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    const { order, notRun } = await runAll([st('a'), st('b')], { signal: ac.signal });
    expect(order).toEqual([]);
    expect([...notRun.keys()].sort()).toEqual(['a', 'b']);
  });

  it("with GPUs ['0','1'] two GPU stages run concurrently on distinct ids", async () => {
    const { recs } = await runAll([st('t1', [], 1, 1), st('t2', [], 1, 1)], { jobs: 2, gpus: ['0', '1'] });
    const a = recs.get('t1')!;
    const b = recs.get('t2')!;
    expect(overlap(a, b)).toBe(true);
    expect(a.gpus).toHaveLength(1);
    expect(b.gpus).toHaveLength(1);
    expect(new Set([...a.gpus, ...b.gpus])).toEqual(new Set(['0', '1']));
  });

  it('with one GPU, GPU stages take turns but CPU stages run beside them', async () => {
    const { recs } = await runAll([st('t1', [], 1, 1), st('t2', [], 1, 1), st('cpu')], { jobs: 3, gpus: ['7'] });
    expect(overlap(recs.get('t1')!, recs.get('t2')!)).toBe(false);
    expect(recs.get('t1')!.gpus).toEqual(['7']);
    expect(recs.get('t2')!.gpus).toEqual(['7']);
    expect(overlap(recs.get('t1')!, recs.get('cpu')!)).toBe(true);
  });

  it('without GPUs, two one-thread GPU stages run side by side on the CPU with no ids', async () => {
    const { recs } = await runAll([st('t1', [], 1, 1), st('t2', [], 1, 1)], { jobs: 2, gpus: [] });
    expect(overlap(recs.get('t1')!, recs.get('t2')!)).toBe(true);
    expect(recs.get('t1')!.gpus).toEqual([]);
    expect(recs.get('t2')!.gpus).toEqual([]);
  });

  it('without GPUs, GPU stages declaring both cores take turns', async () => {
    const { recs } = await runAll([st('t1', [], 2, 1), st('t2', [], 2, 1)], { jobs: 2, gpus: [] });
    expect(overlap(recs.get('t1')!, recs.get('t2')!)).toBe(false);
  });
});
