/**
 * Incremental reruns of per-item stages update the output folder in place
 * (src/run/out-overlay.ts). Whatever changed, the folder must end up exactly
 * as a clean run over the same inputs leaves it, only changed items may run,
 * and a failed or killed run must leave outputs, lock and cache usable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { TestRepo, jsonEvents, waitForFile } from '../helpers/repo.ts';

const ENV = { PIPE_STAGES_PATH: fileURLToPath(new URL('../fixtures/incremental-stages', import.meta.url)) };

// The same items through a built-in stage with reduce and through a `cmd:` per-item stage.
const PIPELINE = (delayMs = 0) => `
stages:
  tally:
    uses: tally
    params: { in: in, out: out/t, delayMs: ${delayMs} }
  upper:
    cmd: tr a-z A-Z < {in} > {out}
    map: { in: in, out: out/u }
`;
const OUTS = { tally: 'out/t', upper: 'out/u' } as const;

/** Every file (with its text) and every folder under `dir`. */
async function tree(dir: string): Promise<{ files: Record<string, string>; dirs: string[] }> {
  const files: Record<string, string> = {};
  const dirs: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const rel = path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/');
    if (e.isDirectory()) dirs.push(rel);
    else files[rel] = await readFile(path.join(dir, rel), 'utf8');
  }
  return { files, dirs: dirs.sort() };
}

/** The output folders and their hashes in the lock. */
async function state(repo: TestRepo) {
  const lock = parse(await repo.read('pipeline.lock')) as { stages: Record<string, { outs: Record<string, { hash: string }> }> };
  return {
    tally: await tree(repo.path(OUTS.tally)),
    upper: await tree(repo.path(OUTS.upper)),
    hashes: [lock.stages.tally!.outs[OUTS.tally]!.hash, lock.stages.upper!.outs[OUTS.upper]!.hash],
  };
}

/** What a clean run (fresh repo, empty cache) leaves for the inputs `repo` has now. */
async function cleanStateLike(repo: TestRepo) {
  const clean = await TestRepo.create({ 'pipeline.yaml': PIPELINE(), 'log/.keep': '' });
  try {
    const inputs = await tree(repo.path('in'));
    for (const [rel, text] of Object.entries(inputs.files)) await clean.write(`in/${rel}`, text);
    const r = await clean.pipe(['run'], ENV);
    expect(r.code, r.stderr).toBe(0);
    return await state(clean);
  } finally {
    await clean.dispose();
  }
}

async function processed(repo: TestRepo): Promise<string[]> {
  const text = await repo.read('log/processed.txt').catch(() => '');
  await rm(repo.path('log/processed.txt'), { force: true });
  return text.split('\n').filter(Boolean).sort();
}

const itemsEvent = (stdout: string, stage: string) => jsonEvents(stdout).find((e) => e.type === 'stage-items' && e.stage === stage);

let repo: TestRepo | undefined;
afterEach(async () => repo?.dispose());

const START = { 'in/a.txt': 'alpha\n', 'in/sub/b.txt': 'beta\n', 'in/sub/c.txt': 'gamma\n', 'in/only/d.txt': 'delta\n', 'in/e.txt': 'epsilon\n', 'log/.keep': '' };

describe('incremental per-item reruns', () => {
  it('change, add, delete, rename, a hand-edited output and a stray file: only changed items run, outputs equal a clean run', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': PIPELINE(), ...START });
    expect((await repo.pipe(['run'], ENV)).code).toBe(0);
    expect(await processed(repo)).toEqual(['a.txt', 'e.txt', 'only/d.txt', 'sub/b.txt', 'sub/c.txt']);

    // One changed, one added in a new folder, the only file of a folder deleted.
    await repo.write('in/sub/b.txt', 'beta, changed\n');
    await repo.write('in/new/f.txt', 'phi\n');
    await rm(repo.path('in/only/d.txt'));
    const second = await repo.pipe(['run', '--json'], ENV);
    expect(second.code, second.stderr).toBe(0);
    expect(await processed(repo)).toEqual(['new/f.txt', 'sub/b.txt']);
    for (const stage of ['tally', 'upper']) expect(itemsEvent(second.stdout, stage)).toMatchObject({ total: 5, cached: 3, toProcess: 2, inPlace: 3 });
    let now = await state(repo);
    expect(now).toEqual(await cleanStateLike(repo));
    expect(now.tally.files['sub/b.up']).toBe('BETA, CHANGED\n');
    expect(now.tally.dirs).not.toContain('only'); // no empty folder left where the deleted input's output was
    expect(JSON.parse(now.tally.files['tally.json']!)).toEqual({ items: ['a.txt', 'e.txt', 'new/f.txt', 'sub/b.txt', 'sub/c.txt'], chars: 38 });

    // A rename, an output edited by hand, a stray file in an output folder.
    await rename(repo.path('in/e.txt'), repo.path('in/e2.txt'));
    await writeFile(repo.path('out/t/a.up'), 'EDITED BY HAND\n');
    await writeFile(repo.path('out/u/stray.txt'), 'not from any item\n');
    const third = await repo.pipe(['run', '--json'], ENV);
    expect(third.code, third.stderr).toBe(0);
    expect(await processed(repo)).toEqual(['e2.txt']);
    // a.txt's output is no longer what its record says: copied back from the cache, not processed.
    expect(itemsEvent(third.stdout, 'tally')).toMatchObject({ total: 5, cached: 4, toProcess: 1, inPlace: 3 });
    now = await state(repo);
    expect(now).toEqual(await cleanStateLike(repo));
    expect(now.tally.files['a.up']).toBe('ALPHA\n');
    expect(now.upper.files).not.toHaveProperty('stray.txt');

    // Nothing left to do, and the folder records written by the in-place commit hold.
    const again = await repo.pipe(['run', '--json'], ENV);
    expect(jsonEvents(again.stdout).find((e) => e.type === 'run-finished')).toMatchObject({ summary: { ran: [], upToDate: ['tally', 'upper'] } });
  });

  it('a failed rerun changes neither its outputs nor its lock entry; the next run finishes from the cache', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': PIPELINE(), ...START });
    expect((await repo.pipe(['run'], ENV)).code).toBe(0);
    await processed(repo);
    const before = await state(repo);
    const tallyEntry = async () => (parse(await repo!.read('pipeline.lock')) as { stages: Record<string, unknown> }).stages.tally;
    const entry = await tallyEntry();

    await repo.write('in/a.txt', 'alpha, changed\n');
    await repo.write('in/bad.txt', 'fails\n');
    await rm(repo.path('in/e.txt'));
    const failed = await repo.pipe(['run', '--keep-going'], ENV);
    expect(failed.code).toBe(1);
    // tally failed (bad.txt); upper, which `tr` copes with, went ahead.
    expect(await tallyEntry()).toEqual(entry);
    expect(await tree(repo.path(OUTS.tally))).toEqual(before.tally);
    expect(await processed(repo)).toEqual(['a.txt']); // bad.txt threw before logging

    await rm(repo.path('in/bad.txt'));
    const r = await repo.pipe(['run', '--json'], ENV);
    expect(r.code, r.stderr).toBe(0);
    expect(await processed(repo)).toEqual([]); // a.txt's new output was cached by the failed run
    expect(await state(repo)).toEqual(await cleanStateLike(repo));
  });

  it('a run killed while items are processed leaves outputs and lock as they were and loses no finished item', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': PIPELINE(), ...START });
    expect((await repo.pipe(['run'], ENV)).code).toBe(0);
    await processed(repo);
    const before = await state(repo);
    const lock = await repo.read('pipeline.lock');

    await repo.write('pipeline.yaml', PIPELINE(400));
    for (const f of ['a.txt', 'sub/b.txt', 'sub/c.txt']) await repo.write(`in/${f}`, `${f} changed\n`);
    const run = repo.start(['run', '--jobs', '1'], ENV);
    // Two items logged: the first is recorded in the cache by then (the second waited 400 ms before logging).
    for (;;) {
      await waitForFile(repo.path('log/processed.txt'));
      if ((await repo.read('log/processed.txt')).split('\n').filter(Boolean).length >= 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    run.child.kill('SIGKILL');
    await run.done;
    expect(await repo.read('pipeline.lock')).toBe(lock);
    expect(await state(repo)).toEqual(before);
    const logged = (await processed(repo)).length;

    const r = await repo.pipe(['run', '--json'], ENV);
    expect(r.code, r.stderr).toBe(0);
    // delayMs is in every item's key: all five items run again, except those the killed run finished.
    const toProcess = itemsEvent(r.stdout, 'tally')!.toProcess as number;
    expect(toProcess).toBeLessThanOrEqual(5 - (logged - 1));
    expect(await processed(repo)).toHaveLength(toProcess);
    await repo.write('pipeline.yaml', PIPELINE());
    const back = await repo.pipe(['run'], ENV);
    expect(back.code, back.stderr).toBe(0);
    expect(await state(repo)).toEqual(await cleanStateLike(repo));
  });
});
