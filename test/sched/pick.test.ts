import { describe, expect, it } from 'vitest';
import { pickNext, type Availability, type Candidate, type Pick } from '../../src/sched/pick.ts';

const c = (name: string, cpu: number, gpu: number, priority: number): Candidate => ({ name, cpu, gpu, priority });
const av = (cpu: number, gpus: string[] = []): Availability => ({ cpu, gpus });

interface Row {
  what: string;
  queue: Candidate[];
  avail: Availability;
  totalGpus: number;
  totalCpu?: number;
  want: Pick | null;
}

const rows: Row[] = [
  { what: 'empty queue', queue: [], avail: av(2), totalGpus: 0, want: null },
  { what: 'single fitting task', queue: [c('a', 1, 0, 0)], avail: av(2), totalGpus: 0, want: { name: 'a', gpus: [], cpu: 1 } },
  { what: 'no free slot', queue: [c('a', 1, 0, 0)], avail: av(0), totalGpus: 0, want: null },
  {
    what: 'higher priority first regardless of queue order',
    queue: [c('low', 1, 0, 1), c('high', 1, 0, 5)],
    avail: av(2),
    totalGpus: 0,
    want: { name: 'high', gpus: [], cpu: 1 },
  },
  {
    what: 'ties keep queue order',
    queue: [c('first', 1, 0, 3), c('second', 1, 0, 3)],
    avail: av(2),
    totalGpus: 0,
    want: { name: 'first', gpus: [], cpu: 1 },
  },
  {
    what: 'cpu weight 2 takes 2 slots',
    queue: [c('a', 2, 0, 0)],
    avail: av(2),
    totalGpus: 0,
    totalCpu: 2,
    want: { name: 'a', gpus: [], cpu: 2 },
  },
  {
    what: 'cpu 8 is clamped to the 2 total slots',
    queue: [c('big', 8, 0, 0)],
    avail: av(2),
    totalGpus: 0,
    totalCpu: 2,
    want: { name: 'big', gpus: [], cpu: 2 },
  },
  { what: 'clamped cpu 8 still waits for both slots', queue: [c('big', 8, 0, 0)], avail: av(1), totalGpus: 0, totalCpu: 2, want: null },
  { what: 'cpu 0 still takes one slot', queue: [c('z', 0, 0, 0)], avail: av(1), totalGpus: 0, totalCpu: 2, want: { name: 'z', gpus: [], cpu: 1 } },
  {
    what: 'a big high-priority task blocked on cpu holds back smaller ones (no starvation)',
    queue: [c('big', 2, 0, 5), c('small', 1, 0, 1)],
    avail: av(1),
    totalGpus: 0,
    totalCpu: 2,
    want: null,
  },
  {
    what: 'a lower-priority big task does not block a fitting higher one',
    queue: [c('big', 2, 0, 1), c('small', 1, 0, 5)],
    avail: av(1),
    totalGpus: 0,
    totalCpu: 2,
    want: { name: 'small', gpus: [], cpu: 1 },
  },
  {
    what: 'gpu stage with no GPUs runs on the CPU with its cpu weight and no ids',
    queue: [c('train', 1, 1, 0)],
    avail: av(2),
    totalGpus: 0,
    totalCpu: 2,
    want: { name: 'train', gpus: [], cpu: 1 },
  },
  {
    what: 'no GPUs: a second one-thread gpu stage starts beside the first (one slot left)',
    queue: [c('train@b', 1, 1, 3), c('train@c', 1, 1, 3)],
    avail: av(1),
    totalGpus: 0,
    totalCpu: 2,
    want: { name: 'train@b', gpus: [], cpu: 1 },
  },
  { what: 'no GPUs: a one-thread gpu stage waits when both slots are taken', queue: [c('train', 1, 1, 0)], avail: av(0), totalGpus: 0, totalCpu: 2, want: null },
  {
    what: 'no GPUs: a gpu stage declaring 2 threads waits for both slots and holds back cpu stages',
    queue: [c('torch', 2, 1, 9), c('convert', 1, 0, 1)],
    avail: av(1),
    totalGpus: 0,
    totalCpu: 2,
    want: null,
  },
  {
    what: 'no GPUs: gpu demand never makes a stage wait for ids',
    queue: [c('train', 1, 4, 5), c('convert', 1, 0, 1)],
    avail: av(1),
    totalGpus: 0,
    totalCpu: 2,
    want: { name: 'train', gpus: [], cpu: 1 },
  },
  {
    what: 'a gpu stage waiting for GPUs holds back lower-priority gpu stages',
    queue: [c('train2', 1, 2, 9), c('train1', 1, 1, 1)],
    avail: av(2, ['1']),
    totalGpus: 2,
    want: null,
  },
  {
    what: 'gpu stage gets a free id',
    queue: [c('train', 1, 1, 0)],
    avail: av(2, ['1']),
    totalGpus: 2,
    want: { name: 'train', gpus: ['1'], cpu: 1 },
  },
  {
    what: 'gpu stage needing 2 gets 2 distinct ids',
    queue: [c('train', 1, 2, 0)],
    avail: av(2, ['0', '1', '2']),
    totalGpus: 3,
    want: { name: 'train', gpus: ['0', '1'], cpu: 1 },
  },
  { what: 'gpu stage needing 2 with 1 free waits', queue: [c('train', 1, 2, 0)], avail: av(2, ['1']), totalGpus: 2, want: null },
  {
    what: 'gpu demand clamped to the machine total',
    queue: [c('train', 1, 4, 0)],
    avail: av(2, ['0']),
    totalGpus: 1,
    want: { name: 'train', gpus: ['0'], cpu: 1 },
  },
  {
    what: 'with one GPU busy, a second gpu stage waits even though a cpu slot is free',
    queue: [c('train', 1, 1, 0)],
    avail: av(1, []),
    totalGpus: 1,
    totalCpu: 2,
    want: null,
  },
  {
    what: 'a gpu stage waiting for the busy GPU does not block cpu stages',
    queue: [c('train', 1, 1, 9), c('convert', 1, 0, 1)],
    avail: av(1, []),
    totalGpus: 1,
    totalCpu: 2,
    want: { name: 'convert', gpus: [], cpu: 1 },
  },
  {
    what: 'gpu stage blocked on cpu slots blocks everything below it',
    queue: [c('train', 2, 1, 9), c('convert', 1, 0, 1)],
    avail: av(1, ['0']),
    totalGpus: 1,
    totalCpu: 2,
    want: null,
  },
];

describe('pickNext', () => {
  it.each(rows)('$what', (r) => {
    expect(pickNext(r.queue, r.avail, r.totalGpus, r.totalCpu)).toEqual(r.want);
  });

  it('does not mutate its inputs', () => {
    const queue = [c('b', 1, 0, 1), c('a', 1, 1, 2)];
    const avail = av(2, ['0', '1']);
    const before = JSON.stringify({ queue, avail });
    pickNext(queue, avail, 2, 2);
    expect(JSON.stringify({ queue, avail })).toBe(before);
  });
});
