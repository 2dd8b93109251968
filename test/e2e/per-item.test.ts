/** Per-item stages: one changed file, one reprocessed item. */
import { afterEach, describe, expect, it } from 'vitest';
import { readdir, rm } from 'node:fs/promises';
import { TestRepo, jsonEvents, summaryOf } from '../helpers/repo.ts';

const PIPELINE = (suffix: string) => `
stages:
  upper:
    cmd: echo {rel} >> log/processed.txt && tr a-z A-Z < {in} > {out} && echo "${suffix}" >> {out}
    map: { in: docs, out: work/upper, glob: "**/*.txt" }
  count:
    cmd: ls work/upper | wc -l > count.txt
    deps: [work/upper]
    outs: [count.txt]
`;

async function processed(repo: TestRepo): Promise<string[]> {
  try {
    return (await repo.read('log/processed.txt')).split('\n').filter(Boolean).map((s) => s.replace(/'/g, ''));
  } catch {
    return [];
  }
}

describe('per-item stages', () => {
  let repo: TestRepo;
  afterEach(async () => repo?.dispose());

  it('processes every item once, then only changed and added ones', async () => {
    const files: Record<string, string> = { 'pipeline.yaml': PIPELINE('v1'), 'log/.keep': '', 'docs/skip.md': 'not matched' };
    for (let i = 0; i < 6; i++) files[`docs/f${i}.txt`] = `file ${i}\n`;
    repo = await TestRepo.create(files);
    const first = await repo.pipe(['run', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect((await processed(repo)).sort()).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt', 'f5.txt']);
    expect(await repo.read('work/upper/f3.txt')).toBe('FILE 3\nv1\n');
    expect((await readdir(repo.path('work/upper'))).sort()).toHaveLength(6);

    await rm(repo.path('log/processed.txt'));
    await repo.write('docs/f2.txt', 'changed\n');
    await repo.write('docs/new.txt', 'new\n');
    const second = await repo.pipe(['run', '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect((await processed(repo)).sort()).toEqual(['f2.txt', 'new.txt']);
    const items = jsonEvents(second.stdout).find((e) => e.type === 'stage-items');
    expect(items).toMatchObject({ total: 7, cached: 5, toProcess: 2 });
    expect(await repo.read('work/upper/f2.txt')).toBe('CHANGED\nv1\n');
    expect(await repo.read('work/upper/f3.txt')).toBe('FILE 3\nv1\n');
    expect((await repo.read('count.txt')).trim()).toBe('7');

    // Removing an input removes its output.
    await rm(repo.path('docs/f0.txt'));
    await rm(repo.path('log/processed.txt'));
    expect((await repo.pipe(['run'])).code).toBe(0);
    expect(await processed(repo)).toEqual([]);
    expect((await readdir(repo.path('work/upper'))).sort()).not.toContain('f0.txt');
  });

  it('a changed param reprocesses every item', async () => {
    const files: Record<string, string> = { 'pipeline.yaml': PIPELINE('v1'), 'log/.keep': '' };
    for (let i = 0; i < 3; i++) files[`docs/f${i}.txt`] = `file ${i}\n`;
    repo = await TestRepo.create(files);
    expect((await repo.pipe(['run'])).code).toBe(0);
    await rm(repo.path('log/processed.txt'));
    await repo.write('pipeline.yaml', PIPELINE('v2'));
    const r = await repo.pipe(['run', '--json']);
    expect(summaryOf(r.stdout).ran).toContain('upper');
    expect(await processed(repo)).toHaveLength(3);
    expect(await repo.read('work/upper/f1.txt')).toBe('FILE 1\nv2\n');
  });

  it('a failing item fails the stage, names the file, keeps the others cached and changes nothing', async () => {
    const files: Record<string, string> = {
      'pipeline.yaml': `
stages:
  check:
    cmd: grep -q good {in} && cp {in} {out}
    map: { in: docs, out: work/checked }
`,
    };
    for (let i = 0; i < 4; i++) files[`docs/f${i}.txt`] = 'good\n';
    repo = await TestRepo.create(files);
    expect((await repo.pipe(['run'])).code).toBe(0);
    const lock = await repo.read('pipeline.lock');
    await repo.write('docs/f1.txt', 'bad\n');
    await repo.write('docs/f3.txt', 'good again\n');
    const r = await repo.pipe(['run', '--keep-going']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('f1.txt');
    expect(await repo.read('pipeline.lock')).toBe(lock);
    expect(await repo.read('work/checked/f3.txt')).toBe('good\n');
    await repo.write('docs/f1.txt', 'good, fixed\n');
    const again = await repo.pipe(['run', '--json']);
    expect(again.code, again.stderr).toBe(0);
    // f3 succeeded in the failed run and was cached then.
    expect(jsonEvents(again.stdout).find((e) => e.type === 'stage-items')).toMatchObject({ total: 4, toProcess: 1 });
    expect(await repo.read('work/checked/f3.txt')).toBe('good again\n');
  });
});
