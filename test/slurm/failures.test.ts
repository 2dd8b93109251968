/** Real Slurm jobs that fail, are interrupted, or outlive a killed runner. */
import { afterEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { TestRepo, summaryOf, type PipeResult } from '../helpers/repo.ts';
import { CLUSTER, SLURM_STAGES, failuresOf, jobState, submittedJobs } from './cluster.ts';

const env = { PIPE_STAGES_PATH: SLURM_STAGES };

/** Starts `pipe run --executor slurm --json` and resolves once `n` jobs were submitted. */
async function startUntilSubmitted(repo: TestRepo, n: number) {
  const run = repo.start(['run', '--executor', 'slurm', '--json', '--jobs', '3'], env);
  let out = '';
  run.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const t0 = Date.now();
  while (submittedJobs(out).length < n) {
    if (Date.now() - t0 > 60_000) throw new Error(`jobs not submitted:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ...run, jobs: () => submittedJobs(out) };
}

async function waitGone(id: string, timeoutMs = 30_000): Promise<string | undefined> {
  const t0 = Date.now();
  for (;;) {
    const st = jobState(id);
    if (!st || !['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING'].includes(st)) return st;
    if (Date.now() - t0 > timeoutMs) return st;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!CLUSTER)('Slurm jobs that do not simply succeed', () => {
  const repos: TestRepo[] = [];
  afterEach(async () => {
    for (const r of repos.splice(0)) await r.dispose();
  });

  it('a failing job is a failure naming the job and its log; earlier outputs stay', async () => {
    const repo = await TestRepo.create({
      'pipeline.yaml': `
stages:
  ok:
    cmd: echo fine > ok.txt
    outs: [ok.txt]
  bad:
    cmd: echo "cannot open the model" >&2; exit 3
    deps: [ok.txt]
    outs: [bad.txt]
`,
    });
    repos.push(repo);
    const r = await repo.pipe(['run', '--executor', 'slurm', '--json'], env);
    expect(r.code).toBe(1);
    expect(summaryOf(r.stdout)).toMatchObject({ ran: ['ok'], failed: ['bad'] });
    const [f] = failuresOf(r);
    expect(f!.kind).toBe('exit-non-zero');
    expect(f!.message).toMatch(/exited with code 3 in Slurm job \d+; log: .*slurm-\d+\.log/);
    expect(f!.stderrTail).toContain('cannot open the model');
    expect(await readFile(f!.file!, 'utf8')).toContain('cannot open the model');
    expect(await repo.read('ok.txt')).toBe('fine\n');
  });

  it('Ctrl-C cancels the running jobs', async () => {
    const repo = await TestRepo.create({
      'pipeline.yaml': `
stages:
  slow1:
    cmd: sleep 60 && touch slow1.txt
    outs: [slow1.txt]
  slow2:
    cmd: sleep 60 && touch slow2.txt
    outs: [slow2.txt]
`,
    });
    repos.push(repo);
    const run = await startUntilSubmitted(repo, 2);
    const ids = run.jobs();
    run.child.kill('SIGINT');
    const r: PipeResult = await run.done;
    expect(r.code).toBe(130);
    expect(summaryOf(r.stdout).failed.sort()).toEqual(['slow1', 'slow2']);
    for (const id of ids) expect(await waitGone(id)).toMatch(/^(CANCELLED|undefined)$|^$/);
  });

  it('a second run after the runner was killed waits for its jobs: no lost outputs, no work done twice', async () => {
    const files: Record<string, string> = {
      'pipeline.yaml': `
stages:
  whole:
    cmd: echo start >> log/whole.txt && sleep 6 && echo done > whole.txt
    outs: [whole.txt]
  note:
    uses: note
    params: { out: note.json, text: survived }
  shout:
    uses: shout
    params: { in: docs, out: loud, delayMs: 1000 }
    resources: { chunk: 1 }
`,
      'log/.keep': '',
    };
    for (let i = 0; i < 3; i++) files[`docs/d${i}.txt`] = `doc ${i}\n`;
    const repo = await TestRepo.create(files);
    repos.push(repo);
    // All three submitted, then the runner dies without a chance to clean up.
    const run = await startUntilSubmitted(repo, 3);
    run.child.kill('SIGKILL');
    await run.done;

    const r = await repo.pipe(['run', '--executor', 'slurm', '--json'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('submitted for this stage by an earlier pipe run');
    expect(submittedJobs(r.stdout.replace(/.*earlier pipe run.*\n/g, ''))).toEqual([]);
    expect(await repo.read('whole.txt')).toBe('done\n');
    expect(await repo.read('log/whole.txt')).toBe('start\n');
    const shouted = (await repo.read('log/shout.txt')).trim().split('\n').map((l) => l.split(' ')[0]).sort();
    expect(shouted).toEqual(['d0.txt', 'd1.txt', 'd2.txt']);
    expect(await repo.read('loud/d2.txt')).toBe('DOC 2\n');
    expect(JSON.parse(await repo.read('note.json'))).toMatchObject({ text: 'survived' });
    const third = await repo.pipe(['run', '--executor', 'slurm', '--json'], env);
    expect(summaryOf(third.stdout).upToDate.sort()).toEqual(['note', 'shout', 'whole']);
  });
});
