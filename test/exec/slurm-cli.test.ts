/** The Slurm executor's pure parts: job options, log tailing, protocol lines, failures, chunks. */
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileTail, sbatchArgs, statesOf } from '../../src/exec/slurm-cli.ts';
import { JOB_MARK, parseMark } from '../../src/exec/slurm-protocol.ts';
import { chunked, jobFailure } from '../../src/exec/slurm.ts';

describe('sbatchArgs', () => {
  it('maps named resources to sbatch options, then passes extra flags through', () => {
    expect(sbatchArgs({ cpu: 4, gpu: 1, mem: '16G', time: '4:00:00', partition: 'gpu', account: 'lab', sbatch: ['--qos=normal'] })).toEqual([
      '--cpus-per-task=4',
      '--gpus=1',
      '--mem=16G',
      '--time=4:00:00',
      '--partition=gpu',
      '--account=lab',
      '--qos=normal',
    ]);
  });
  it('gres replaces --gpus; a stage asking no CPU still gets one', () => {
    expect(sbatchArgs({ cpu: 0, gpu: 2, gres: 'gpu:a100:2' })).toEqual(['--cpus-per-task=1', '--gres=gpu:a100:2']);
  });
  it('on a cluster without GPUs a GPU stage asks for none (it runs on the CPU, as locally); gres is still passed', () => {
    expect(sbatchArgs({ cpu: 1, gpu: 1 }, false)).toEqual(['--cpus-per-task=1']);
    expect(sbatchArgs({ cpu: 1, gpu: 1, gres: 'gpu:1' }, false)).toEqual(['--cpus-per-task=1', '--gres=gpu:1']);
  });
});

describe('FileTail', () => {
  it('returns only new complete lines, keeps a partial one for later, flushes it at the end', () => {
    const f = path.join(mkdtempSync(path.join(os.tmpdir(), 'pipe-tail-')), 'job.log');
    const t = new FileTail(f);
    expect(t.read()).toEqual([]); // not there yet
    writeFileSync(f, 'one\ntw');
    expect(t.read()).toEqual(['one']);
    appendFileSync(f, 'o\nthree');
    expect(t.read()).toEqual(['two']);
    expect(t.read(true)).toEqual(['three']);
    expect(t.read(true)).toEqual([]);
  });
});

describe('job protocol', () => {
  it('marked lines carry progress and log; other lines are plain output', () => {
    expect(parseMark(`${JOB_MARK}{"progress":{"step":1,"total":2}}`)).toEqual({ progress: { step: 1, total: 2 } });
    expect(parseMark(`${JOB_MARK}{"log":"hi"}`)).toEqual({ log: 'hi' });
    expect(parseMark('pipe {"log":"hi"}')).toBeUndefined();
    expect(parseMark(`${JOB_MARK}{broken`)).toBeUndefined();
  });
  it('statesOf picks a job and its array tasks, not jobs whose id merely starts the same', () => {
    const all = new Map([['12', 'RUNNING'], ['12_0', 'COMPLETED'], ['123', 'FAILED'], ['12_1', 'PENDING']]);
    expect([...statesOf('12', all).keys()]).toEqual(['12', '12_0', '12_1']);
  });
  it('chunks keep order and the last chunk takes the rest', () => {
    expect(chunked([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});

describe('jobFailure', () => {
  const r = { cpu: 1, gpu: 0, time: '0:30:00', mem: '2G' };
  it.each([
    ['TIMEOUT', /ran over its time limit \(--time=0:30:00\)/, /resources.time/],
    ['OUT_OF_MEMORY', /ran out of memory \(--mem=2G\)/, /resources.mem/],
    ['NODE_FAIL', /its node failed/, /run again/],
    ['CANCELLED', /cancelled outside pipe/, /run again/],
    ['FAILED', /ended as FAILED/, /job log/],
  ])('%s names the job, the log and what to do', (state, message, hint) => {
    const f = jobFailure('train@dark', '42', state, '/repo/.pipe/jobs/train@dark/k/slurm-42.log', r, ['last line']);
    expect(f.kind).toBe('job-failed');
    expect(f.message).toMatch(/^stage train@dark: Slurm job 42 /);
    expect(f.message).toMatch(message);
    expect(f.message).toContain('log: /repo/.pipe/jobs/train@dark/k/slurm-42.log');
    expect(f.hint).toMatch(hint);
    expect(f).toMatchObject({ stage: 'train@dark', file: '/repo/.pipe/jobs/train@dark/k/slurm-42.log', stderrTail: ['last line'] });
  });
});
