/**
 * End to end through the real CLI: what runs, what is skipped, what is
 * restored from the cache, and why.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { TestRepo, summaryOf } from '../helpers/repo.ts';

const PIPELINE = (scale: number) => `
vars:
  scale: ${scale}
stages:
  prepare:
    cmd: mkdir -p data && echo run >> log/prepare.count && cat input/a.txt input/b.txt > data/joined.txt
    deps: [input]
    outs: [data/joined.txt]
  score:
    cmd: sh score.sh \${scale}
    deps: [data/joined.txt]
    params: { scale: \${scale} }
    # score.sh is found in the command and hashed as code
    metrics: [metrics.json]
`;

const SCORE_SH = `echo run >> log/score.count
chars=$(wc -c < data/joined.txt)
echo "{\\"chars\\": $((chars * $1))}" > metrics.json
`;
const FILES = { 'pipeline.yaml': PIPELINE(1), 'input/a.txt': 'hello\n', 'input/b.txt': 'world\n', 'log/.keep': '', 'score.sh': SCORE_SH };

async function count(repo: TestRepo, name: string): Promise<number> {
  try {
    return (await repo.read(`log/${name}.count`)).split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

describe('pipe run: incremental and cached', () => {
  let repo: TestRepo;
  afterEach(async () => repo?.dispose());

  it('runs everything once, then nothing, and records a deterministic lock', async () => {
    repo = await TestRepo.create(FILES);
    const first = await repo.pipe(['run', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(summaryOf(first.stdout).ran.sort()).toEqual(['prepare', 'score']);
    expect(JSON.parse(await repo.read('metrics.json'))).toEqual({ chars: 12 });
    const lock1 = await repo.read('pipeline.lock');
    expect(lock1).toContain('prepare:');
    expect(lock1).toContain('score:');

    const second = await repo.pipe(['run', '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect(summaryOf(second.stdout).upToDate.sort()).toEqual(['prepare', 'score']);
    expect(await count(repo, 'prepare')).toBe(1);
    expect(await count(repo, 'score')).toBe(1);
    expect(await repo.read('pipeline.lock')).toBe(lock1);
  });

  it('reruns only what a change touches and says why', async () => {
    repo = await TestRepo.create(FILES);
    expect((await repo.pipe(['run'])).code).toBe(0);
    await repo.write('pipeline.yaml', PIPELINE(2));
    const status = await repo.pipe(['status']);
    expect(status.stdout).toMatch(/score/);
    expect(status.stdout).toMatch(/scale/);
    expect(status.stdout).toMatch(/1\s*->\s*2/);
    const run = await repo.pipe(['run', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(summaryOf(run.stdout).ran).toEqual(['score']);
    expect(summaryOf(run.stdout).upToDate).toEqual(['prepare']);
    expect(JSON.parse(await repo.read('metrics.json'))).toEqual({ chars: 24 });

    await repo.write('input/b.txt', 'world!\n');
    const status2 = await repo.pipe(['status']);
    expect(status2.stdout).toMatch(/b\.txt/);
    const run2 = await repo.pipe(['run', '--json']);
    expect(summaryOf(run2.stdout).ran.sort()).toEqual(['prepare', 'score']);
  });

  it('restores from the run cache when a param goes back to an earlier value (v0 -> v1 -> v0 runs twice, not three times)', async () => {
    repo = await TestRepo.create(FILES);
    expect((await repo.pipe(['run'])).code).toBe(0);
    await repo.write('pipeline.yaml', PIPELINE(3));
    expect((await repo.pipe(['run'])).code).toBe(0);
    await repo.write('pipeline.yaml', PIPELINE(1));
    const back = await repo.pipe(['run', '--json']);
    expect(back.code, back.stderr).toBe(0);
    expect(summaryOf(back.stdout).restored).toEqual(['score']);
    expect(await count(repo, 'score')).toBe(2);
    expect(JSON.parse(await repo.read('metrics.json'))).toEqual({ chars: 12 });
  });

  it('restores deleted outputs from the cache and checks out what the lock records', async () => {
    repo = await TestRepo.create(FILES);
    expect((await repo.pipe(['run'])).code).toBe(0);
    const lockV1 = await repo.read('pipeline.lock');
    await repo.write('pipeline.yaml', PIPELINE(5));
    expect((await repo.pipe(['run'])).code).toBe(0);
    expect(JSON.parse(await repo.read('metrics.json'))).toEqual({ chars: 60 });
    // As after `git checkout` of the earlier experiment: old pipeline and lock.
    await repo.write('pipeline.yaml', PIPELINE(1));
    await repo.write('pipeline.lock', lockV1);
    const co = await repo.pipe(['checkout']);
    expect(co.code, co.stderr).toBe(0);
    expect(JSON.parse(await repo.read('metrics.json'))).toEqual({ chars: 12 });
    await rm(repo.path('data'), { recursive: true });
    const status = await repo.pipe(['status']);
    expect(status.stdout).toMatch(/data\/joined\.txt/);
    const run = await repo.pipe(['run', '--json']);
    expect(summaryOf(run.stdout).restored).toEqual(['prepare']);
    expect(await repo.read('data/joined.txt')).toBe('hello\nworld\n');
    expect(await count(repo, 'prepare')).toBe(1);
  });

  it('reports a corrupt cache object, drops it and recomputes', async () => {
    repo = await TestRepo.create(FILES);
    expect((await repo.pipe(['run'])).code).toBe(0);
    const lock = await repo.read('pipeline.lock');
    const hash = /data\/joined\.txt:\s*\n\s*hash: ([0-9a-f]{16})/.exec(lock)?.[1];
    expect(hash).toBeDefined();
    const obj = repo.path(`cache/objects/${hash!.slice(0, 2)}/${hash!.slice(2)}`);
    // Same size, different bytes: only a content check can tell.
    await writeFile(obj, 'HELLO\nWORLD\n');
    await rm(repo.path('data/joined.txt'));
    const run = await repo.pipe(['run', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/corrupt|does not match|tampered|hash/i);
    expect(summaryOf(run.stdout).ran).toContain('prepare');
    expect(await repo.read('data/joined.txt')).toBe('hello\nworld\n');
    expect(await readFile(obj, 'utf8')).toBe('hello\nworld\n');
  });

  it('--dry-run shows the plan and runs nothing; --force reruns', async () => {
    repo = await TestRepo.create(FILES);
    const dry = await repo.pipe(['run', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(await count(repo, 'prepare')).toBe(0);
    expect((await repo.pipe(['run'])).code).toBe(0);
    const forced = await repo.pipe(['run', 'score', '--force', '--json']);
    expect(summaryOf(forced.stdout).ran).toEqual(['score']);
    expect(await count(repo, 'score')).toBe(2);
    expect(await count(repo, 'prepare')).toBe(1);
  });
});
