/**
 * A real Slurm job over its --time. Slurm counts time limits in minutes and
 * checks them about every 30 s, so this takes 60-90 s however small the job
 * (measured here: 84 s with --time=1); it has a file of its own so it runs
 * beside the other Slurm tests instead of after them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestRepo, summaryOf } from '../helpers/repo.ts';
import { CLUSTER, failuresOf } from './cluster.ts';

describe.skipIf(!CLUSTER)('a Slurm job over its time limit', () => {
  let repo: TestRepo | undefined;
  afterEach(async () => repo?.dispose());

  it('fails as TIMEOUT, naming the job, the limit and the log', async () => {
    repo = await TestRepo.create({
      'pipeline.yaml': `
stages:
  forever:
    cmd: echo started && sleep 600 && touch never.txt
    outs: [never.txt]
    resources: { time: 1 }
`,
    });
    const r = await repo.pipe(['run', '--executor', 'slurm', '--json']);
    expect(r.code).toBe(1);
    expect(summaryOf(r.stdout).failed).toEqual(['forever']);
    const [f] = failuresOf(r);
    expect(f!.kind).toBe('job-failed');
    expect(f!.message).toMatch(/Slurm job \d+ ran over its time limit \(--time=1\); log: .*slurm-\d+\.log/);
    expect(f!.stderrTail).toContain('started');
  }, 180_000);
});
