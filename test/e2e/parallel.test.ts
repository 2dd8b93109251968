/** The scheduler for real: parallel stages overlap, GPU stages get their own process and device. */
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { TestRepo, jsonEvents, summaryOf, PKG_ROOT } from '../helpers/repo.ts';

const STAGES_PATH = path.join(PKG_ROOT, 'test', 'fixtures', 'e2e-stages');

describe('scheduling', () => {
  let repo: TestRepo;
  afterEach(async () => repo?.dispose());

  it('runs independent stages in parallel (their run intervals overlap)', async () => {
    repo = await TestRepo.create({
      'pipeline.yaml': `
stages:
  slow:
    foreach: [a, b]
    cmd: node -e "const t=Date.now(); setTimeout(()=>require('fs').writeFileSync('t-\${item}.json', JSON.stringify([t, Date.now()])), 1500)"
    outs: [t-\${item}.json]
`,
    });
    const r = await repo.pipe(['run', '--jobs', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [a0, a1] = JSON.parse(await repo.read('t-a.json')) as [number, number];
    const [b0, b1] = JSON.parse(await repo.read('t-b.json')) as [number, number];
    expect(a0 < b1 && b0 < a1).toBe(true);
  });

  it('with --jobs 1 the same stages do not overlap', async () => {
    repo = await TestRepo.create({
      'pipeline.yaml': `
stages:
  slow:
    foreach: [a, b]
    cmd: node -e "const t=Date.now(); setTimeout(()=>require('fs').writeFileSync('t-\${item}.json', JSON.stringify([t, Date.now()])), 300)"
    outs: [t-\${item}.json]
`,
    });
    expect((await repo.pipe(['run', '--jobs', '1'])).code).toBe(0);
    const [a0, a1] = JSON.parse(await repo.read('t-a.json')) as [number, number];
    const [b0, b1] = JSON.parse(await repo.read('t-b.json')) as [number, number];
    expect(a1 <= b0 || b1 <= a0).toBe(true);
  });

  it('gives GPU stages distinct CUDA_VISIBLE_DEVICES in separate processes (--gpus 0,1)', async () => {
    repo = await TestRepo.create({
      'pipeline.yaml': `
stages:
  fit:
    foreach: [x, y]
    uses: pidwriter
    params: { out: gpu-\${item}.json, sleepMs: 900 }
  shell:
    foreach: [p, q]
    cmd: sh record.sh sh-\${item}.json
    outs: [sh-\${item}.json]
    resources: { gpu: 1 }
`,
      'record.sh': 'printf \'{"cuda": "%s", "pid": %s}\' "$CUDA_VISIBLE_DEVICES" $$ > "$1"\n',
    });
    const started = repo.start(['run', '--gpus', '0,1', '--json'], { PIPE_STAGES_PATH: STAGES_PATH });
    const r = await started.done;
    expect(r.code, r.stderr).toBe(0);
    const x = JSON.parse(await repo.read('gpu-x.json'));
    const y = JSON.parse(await repo.read('gpu-y.json'));
    expect(new Set([x.cuda, y.cuda])).toEqual(new Set(['0', '1']));
    expect(x.pid).not.toBe(y.pid);
    expect([x.pid, y.pid]).not.toContain(started.child.pid);
    // Both GPUs were busy at the same time: the two fits overlapped.
    expect(x.start < y.end && y.start < x.end).toBe(true);
    const p = JSON.parse(await repo.read('sh-p.json'));
    const q = JSON.parse(await repo.read('sh-q.json'));
    expect(['0', '1']).toContain(p.cuda);
    expect(['0', '1']).toContain(q.cuda);
    // Progress from the child process reached the runner.
    expect(jsonEvents(r.stdout).some((e) => e.type === 'stage-progress' && e.stage === 'fit@x')).toBe(true);
  });

  it('without GPUs runs two one-thread GPU stages side by side on the CPU, each in its own process, no device visible', async () => {
    repo = await TestRepo.create({
      'pipeline.yaml': `
stages:
  fit:
    foreach: [x, y]
    uses: pidwriter
    params: { out: gpu-\${item}.json, sleepMs: 1500 }
`,
    });
    const r = await repo.pipe(['run', '--gpus', 'none', '--jobs', '2', '--json'], { PIPE_STAGES_PATH: STAGES_PATH });
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r.stdout).ran.sort()).toEqual(['fit@x', 'fit@y']);
    const x = JSON.parse(await repo.read('gpu-x.json'));
    const y = JSON.parse(await repo.read('gpu-y.json'));
    expect(x.start < y.end && y.start < x.end).toBe(true);
    expect(x.pid).not.toBe(y.pid);
    expect([x.threads, y.threads]).toEqual([1, 1]);
    expect(x.cuda === null || x.cuda === '').toBe(true);
  });

  it('without GPUs, GPU stages that declare both cores take turns', async () => {
    repo = await TestRepo.create({
      'pipeline.yaml': `
stages:
  fit:
    foreach: [x, y]
    uses: pidwriter
    params: { out: gpu-\${item}.json, sleepMs: 300, threads: 2 }
`,
    });
    const r = await repo.pipe(['run', '--gpus', 'none', '--jobs', '2', '--json'], { PIPE_STAGES_PATH: STAGES_PATH });
    expect(r.code, r.stderr).toBe(0);
    const x = JSON.parse(await repo.read('gpu-x.json'));
    const y = JSON.parse(await repo.read('gpu-y.json'));
    expect(x.end <= y.start || y.end <= x.start).toBe(true);
    expect([x.threads, y.threads]).toEqual([2, 2]);
  });
});
