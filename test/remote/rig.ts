/**
 * The round trip every remote must pass, on a small real pipeline: a built-in
 * stage (synth, 4 tiny images), a cmd stage reading its output and a cmd
 * stage writing a folder. Clone A runs and pushes; fresh clones pull (or
 * `run --pull`) and must then have nothing to run.
 */
import { expect } from 'vitest';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TestRepo, jsonEvents, summaryOf } from '../helpers/repo.ts';
import { hashFileSync, initHasher } from '../../src/hash/digest.ts';
import { isTempName } from '../../src/hash/temp-name.ts';

export const PIPELINE = `
stages:
  synth:
    uses: synth
    params: { out: data, width: 32, height: 32, count: 4, seed: 3, conditions: [dark] }
  count:
    cmd: echo count >> ran.log && ls data/dark/images | wc -l > counts.txt
    deps: [data/dark/images]
    outs: [counts.txt]
  gen:
    cmd: >-
      echo gen >> ran.log && mkdir -p gen/sub && for i in 1 2 3 4 5; do echo "file $i" > gen/sub/f$i.txt; done && echo '{"score": 0.5}' > gen/metrics.json
    outs: [gen]
    metrics: [gen/metrics.json]
`;
export const STAGES = ['count', 'gen', 'synth'];

/** A "git clone" of `a`: the committed files only (pipeline, lock, remotes), no cache, no outputs. */
export async function cloneOf(a: TestRepo, extra: Record<string, string> = {}): Promise<TestRepo> {
  const b = await TestRepo.create(extra);
  for (const f of ['pipeline.yaml', 'pipeline.lock', 'pipe.remotes.yaml']) await copyFile(a.path(f), b.path(f));
  return b;
}

function expectOk(r: { code: number | null; stderr: string; stdout: string }, what: string): void {
  expect(r.code, `${what}\n${r.stdout}\n${r.stderr}`).toBe(0);
}

/** Every file under `dir` (relative paths), temps included. */
export async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await visit(path.join(d, e.name), rel + e.name + '/');
      else out.push(rel + e.name);
    }
  };
  await visit(dir, '');
  return out.sort();
}

/** Every object file in a cache-layout folder hashes to its own name; temps are not objects. */
export async function expectObjectsWhole(root: string): Promise<number> {
  await initHasher();
  let n = 0;
  for (const rel of await walk(path.join(root, 'objects'))) {
    if (isTempName(rel)) continue;
    expect(hashFileSync(path.join(root, 'objects', rel)), rel).toBe(rel.replace('/', ''));
    n++;
  }
  return n;
}

/**
 * A runs and pushes (twice: the second sends nothing); B pulls and is up to
 * date with nothing to run; C gets everything through `run --pull`.
 * `remotes` is the pipe.remotes.yaml text; `env` extra environment (credentials).
 */
export async function roundTrip(remotes: string, env: Record<string, string> = {}): Promise<{ a: TestRepo; b: TestRepo; c: TestRepo }> {
  const a = await TestRepo.create({ 'pipeline.yaml': PIPELINE, 'pipe.remotes.yaml': remotes });
  expectOk(await a.pipe(['run']), 'run in A');

  const before = await a.pipe(['status', '--remote', '--json'], env);
  expectOk(before, 'status --remote before push');
  const st0 = JSON.parse(before.stdout) as { stages: { stage: string; remoteLacks: { objects: number }; runOnRemote: boolean }[] };
  expect(st0.stages.map((x) => x.stage).sort()).toEqual(STAGES);
  for (const x of st0.stages) expect(x.remoteLacks.objects, x.stage).toBeGreaterThan(0);

  const push = await a.pipe(['push', '--json'], env);
  expectOk(push, 'push');
  const ev = jsonEvents(push.stdout);
  const started = ev.find((e) => e.type === 'transfer-started')!;
  const finished = ev.find((e) => e.type === 'transfer-finished')!;
  expect(started.objects).toBeGreaterThan(10);
  expect(finished.objects).toBe(started.objects);
  expect(finished.bytes).toBe(started.bytes);
  expect(ev.some((e) => e.type === 'transfer-progress' && e.objects === started.objects)).toBe(true);

  const again = await a.pipe(['push'], env);
  expectOk(again, 'second push');
  expect(again.stdout).toMatch(/pushed 0 file\(s\), 0 B to .*; \d+ already there/);

  const after = JSON.parse((await a.pipe(['status', '--remote', '--json'], env)).stdout) as typeof st0;
  for (const x of after.stages) {
    expect(x.remoteLacks.objects, x.stage).toBe(0);
    expect(x.runOnRemote, x.stage).toBe(true);
  }

  // B: pull, then everything is up to date and a run executes nothing.
  const b = await cloneOf(a);
  const pulled = await b.pipe(['pull'], env);
  expectOk(pulled, 'pull in B');
  expect(pulled.stdout).toMatch(/pulled \d+ file\(s\)/);
  expect(await b.read('counts.txt')).toBe(await a.read('counts.txt'));
  expect(await b.read('gen/sub/f3.txt')).toBe('file 3\n');
  const status = JSON.parse((await b.pipe(['status', '--json'])).stdout) as { stages: { stage: string; action: string }[] };
  expect(status.stages.map((x) => [x.stage, x.action]).sort()).toEqual(STAGES.map((s) => [s, 'up-to-date']));
  const runB = await b.pipe(['run', '--json']);
  expectOk(runB, 'run in B');
  expect(summaryOf(runB.stdout).ran).toEqual([]);
  expect(summaryOf(runB.stdout).upToDate.sort()).toEqual(STAGES);
  await expect(readFile(b.path('ran.log'))).rejects.toThrow(); // no command ran in B

  // C: run --pull fetches by stage key and restores instead of running.
  const c = await cloneOf(a);
  const runC = await c.pipe(['run', '--pull', '--json'], env);
  expectOk(runC, 'run --pull in C');
  expect(summaryOf(runC.stdout).ran).toEqual([]);
  expect(summaryOf(runC.stdout).restored.sort()).toEqual(STAGES);
  expect(jsonEvents(runC.stdout).some((e) => e.type === 'transfer-finished' && e.direction === 'pull')).toBe(true);
  await expect(readFile(c.path('ran.log'))).rejects.toThrow();
  expect(await c.read('gen/metrics.json')).toBe(await a.read('gen/metrics.json'));
  return { a, b, c };
}
