/**
 * Real Slurm jobs: a DAG of cmd stages, a built-in stage and a per-item stage
 * as an array job, and the same pipeline.lock keys as a local run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { TestRepo, jsonEvents, summaryOf } from '../helpers/repo.ts';
import { CLUSTER, SLURM_STAGES, submittedJobs } from './cluster.ts';

const PIPELINE = `
stages:
  a:
    cmd: echo hello > a.txt && echo "job $SLURM_JOB_ID" >> a.txt
    outs: [a.txt]
  b:
    cmd: cat a.txt > b.txt && echo "b ran" >> b.txt && echo building b
    deps: [a.txt]
    outs: [b.txt]
  note:
    uses: note
    params: { out: out/note.json, text: hi }
    resources: { gpu: 1 }
  shout:
    uses: shout
    params: { in: docs, out: loud }
    resources: { chunk: 2 }
`;

function files(): Record<string, string> {
  const f: Record<string, string> = { 'pipeline.yaml': PIPELINE, 'log/.keep': '' };
  for (let i = 0; i < 5; i++) f[`docs/d${i}.txt`] = `doc ${i}\n`;
  return f;
}

const env = { PIPE_STAGES_PATH: SLURM_STAGES };

function keys(lockText: string): Record<string, string> {
  const lock = parse(lockText) as { stages: Record<string, { key: string; outs: Record<string, { hash: string }> }> };
  return Object.fromEntries(Object.entries(lock.stages).map(([n, e]) => [n, `${e.key} ${JSON.stringify(e.outs)}`]));
}

describe.skipIf(!CLUSTER)('pipe run --executor slurm', () => {
  const repos: TestRepo[] = [];
  afterEach(async () => {
    for (const r of repos.splice(0)) await r.dispose();
  });

  it('runs cmd stages, a built-in stage and a per-item array as jobs, with the lock keys of a local run', async () => {
    const repo = await TestRepo.create(files());
    repos.push(repo);
    const r = await repo.pipe(['run', '--executor', 'slurm', '--json'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(summaryOf(r.stdout).ran.sort()).toEqual(['a', 'b', 'note', 'shout']);
    const events = jsonEvents(r.stdout);
    const started = Object.fromEntries(events.filter((e) => e.type === 'stage-started').map((e) => [e.stage, e.executor]));
    expect(started).toEqual({ a: 'slurm', b: 'slurm', note: 'slurm', shout: 'slurm array' });
    expect(submittedJobs(r.stdout).length).toBe(4);

    // The cmd stages ran as jobs, in order; the job's output reached the event stream.
    expect(await repo.read('a.txt')).toMatch(/^hello\njob \d+\n$/);
    expect(await repo.read('b.txt')).toContain('b ran');
    expect(events.some((e) => e.type === 'stage-log' && e.stage === 'b' && e.line === 'building b')).toBe(true);
    // The built-in stage ran through pipe's entry inside a job, its progress and log forwarded.
    const note = JSON.parse(await repo.read('out/note.json')) as { job: string | null; threads: number; text: string };
    expect(note.job).toMatch(/^\d+$/);
    expect(note.threads).toBe(1);
    // This cluster has no GPUs: the GPU stage was submitted without --gpus and ran on the CPU, and said so.
    expect(r.stdout).toContain('the cluster offers no GPUs');
    expect(events.some((e) => e.type === 'stage-log' && e.stage === 'note' && e.line === 'note says hi')).toBe(true);
    expect(events.some((e) => e.type === 'stage-progress' && e.stage === 'note')).toBe(true);
    // Five items in chunks of two: three array tasks, each item processed once.
    const shouted = (await repo.read('log/shout.txt')).trim().split('\n').sort();
    expect(shouted.map((l) => l.split(' ')[0])).toEqual(['d0.txt', 'd1.txt', 'd2.txt', 'd3.txt', 'd4.txt']);
    expect(new Set(shouted.map((l) => l.split(' ')[1]))).toEqual(new Set(['0', '1', '2']));
    expect(await repo.read('loud/d3.txt')).toBe('DOC 3\n');

    // Nothing changed: nothing submitted.
    const again = await repo.pipe(['run', '--executor', 'slurm', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(summaryOf(again.stdout).upToDate.sort()).toEqual(['a', 'b', 'note', 'shout']);
    expect(submittedJobs(again.stdout)).toEqual([]);

    // One item changed: one item submitted, the others never.
    await repo.write('docs/d1.txt', 'changed\n');
    const one = await repo.pipe(['run', '--executor', 'slurm', '--json'], env);
    expect(one.code, one.stderr).toBe(0);
    expect(jsonEvents(one.stdout).find((e) => e.type === 'stage-items')).toMatchObject({ total: 5, cached: 4, toProcess: 1 });
    expect(one.stdout).toContain('submitted 1 items as Slurm array job');
    expect((await repo.read('log/shout.txt')).trim().split('\n')).toHaveLength(6);
    expect(await repo.read('loud/d1.txt')).toBe('CHANGED\n');

    // The same pipeline run locally gives the same keys and output hashes (cmd stage a writes
    // the job id, so its outputs differ by design: compare its key only).
    const local = await TestRepo.create({ ...files(), 'docs/d1.txt': 'changed\n' });
    repos.push(local);
    const lr = await local.pipe(['run', '--json'], env);
    expect(lr.code, lr.stderr).toBe(0);
    const k1 = keys(await readFile(repo.path('pipeline.lock'), 'utf8'));
    const k2 = keys(await readFile(local.path('pipeline.lock'), 'utf8'));
    expect(k1.shout).toBe(k2.shout);
    expect(k1.a!.split(' ')[0]).toBe(k2.a!.split(' ')[0]);
    expect(k1.note!.split(' ')[0]).toBe(k2.note!.split(' ')[0]);
  });

  it('pipeline.yaml executor: default, overridden per stage', async () => {
    const repo = await TestRepo.create({
      'pipeline.yaml': `
executor: slurm
stages:
  here:
    cmd: echo "job=$\${SLURM_JOB_ID:-none}" > here.txt
    outs: [here.txt]
    executor: local
  there:
    cmd: echo "job=$\${SLURM_JOB_ID:-none}" > there.txt
    outs: [there.txt]
    resources: { cpu: 1, mem: 50M, time: "5", sbatch: [--comment=pipe-test] }
`,
    });
    repos.push(repo);
    const r = await repo.pipe(['run', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await repo.read('here.txt')).toBe('job=none\n');
    expect(await repo.read('there.txt')).toMatch(/^job=\d+\n$/);
  });
});
