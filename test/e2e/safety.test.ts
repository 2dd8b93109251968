/**
 * Failure safety: a failed, interrupted or killed stage — or a killed runner —
 * leaves previous outputs, the cache and the lock as they were.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import os from 'node:os';
import { TestRepo, summaryOf, waitForFile } from '../helpers/repo.ts';

const pipeline = (mode: string) => `
stages:
  make:
    cmd: sh make.sh ${mode}
    outs: [out]
`;
const MAKE_SH = `
mode=$1
mkdir -p out
if [ "$mode" = good ]; then echo good > out/result.txt; exit 0; fi
echo partial > out/result.txt
if [ "$mode" = fail ]; then echo "something broke on line 3" >&2; exit 3; fi
echo $$ > started.pid
sleep 1000 &
echo $! > grandchild.pid
wait
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function snapshot(repo: TestRepo): Promise<{ out: string; lock: string; cache: string[] }> {
  const walk = async (dir: string): Promise<string[]> => {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) out.push(...(await walk(p)));
      else out.push(p.slice(repo.root.length));
    }
    return out.sort();
  };
  return { out: await repo.read('out/result.txt'), lock: await repo.read('pipeline.lock'), cache: await walk(repo.path('cache/objects')) };
}

describe('failure safety', () => {
  let repo: TestRepo;
  afterEach(async () => repo?.dispose());

  it('a stage exiting non-zero shows its stderr tail and changes nothing', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': pipeline('good'), 'make.sh': MAKE_SH });
    expect((await repo.pipe(['run'])).code).toBe(0);
    const before = await snapshot(repo);
    await repo.write('pipeline.yaml', pipeline('fail'));
    const r = await repo.pipe(['run']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('something broke on line 3');
    expect(r.stdout + r.stderr).toMatch(/exit(ed)?( with)?( code)? 3|code 3/i);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace for user errors
    expect(await snapshot(repo)).toEqual(before);
  });

  it('Ctrl-C kills the whole stage process group and puts outputs back', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': pipeline('good'), 'make.sh': MAKE_SH });
    expect((await repo.pipe(['run'])).code).toBe(0);
    const before = await snapshot(repo);
    await repo.write('pipeline.yaml', pipeline('hang'));
    const { child, done } = repo.start(['run']);
    await waitForFile(repo.path('grandchild.pid'));
    const grandchild = Number(await repo.read('grandchild.pid'));
    expect(alive(grandchild)).toBe(true);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    // The grandchild `sleep` is gone too: the runner killed the process group.
    for (let i = 0; i < 50 && alive(grandchild); i++) await new Promise((res) => setTimeout(res, 100));
    expect(alive(grandchild)).toBe(false);
    expect(await snapshot(repo)).toEqual(before);
  });

  it('after SIGKILL of the runner the lock is untouched, status does not trust the half output, and the next run recovers', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': pipeline('good'), 'make.sh': MAKE_SH });
    expect((await repo.pipe(['run'])).code).toBe(0);
    const lockBefore = await repo.read('pipeline.lock');
    await repo.write('pipeline.yaml', pipeline('hang'));
    const { child, done } = repo.start(['run']);
    await waitForFile(repo.path('grandchild.pid'));
    child.kill('SIGKILL');
    await done;
    const grandchild = Number(await repo.read('grandchild.pid'));
    const stagePid = Number(await repo.read('started.pid'));
    // Nobody is left to clean up after a SIGKILL: stop the orphans ourselves.
    for (const pid of [grandchild, stagePid]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    expect(await repo.read('pipeline.lock')).toBe(lockBefore);
    expect(await repo.read('out/result.txt')).toBe('partial\n');
    await repo.write('pipeline.yaml', pipeline('good'));
    const status = await repo.pipe(['status']);
    expect(status.stdout).toMatch(/make/);
    expect(status.stdout).toMatch(/out/);
    // The dead runner's repo lock is taken over; the stage is restored from the cache.
    const r = await repo.pipe(['run', '--json', '--no-wait']);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r.stdout).restored).toEqual(['make']);
    expect(await repo.read('out/result.txt')).toBe('good\n');
  });

  it('a second run in the same repo is refused with --no-wait, and a stale run lock is taken over', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': pipeline('hang'), 'make.sh': MAKE_SH });
    const first = repo.start(['run']);
    await waitForFile(repo.path('grandchild.pid'));
    const second = await repo.pipe(['run', '--no-wait']);
    expect(second.code).not.toBe(0);
    expect(second.stderr + second.stdout).toMatch(/another|already|busy|pid/i);
    first.child.kill('SIGINT');
    await first.done;

    // A lock file left by a process that no longer exists.
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    await mkdir(repo.path('.pipe'), { recursive: true });
    const forged = { pid: dead.pid, hostname: os.hostname(), startedAt: new Date().toISOString(), command: 'pipe run', token: 'dead-run' };
    await writeFile(repo.path('.pipe/run.lock'), JSON.stringify(forged));
    await repo.write('pipeline.yaml', pipeline('good'));
    const r = await repo.pipe(['run', '--no-wait']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('--keep-going runs what does not depend on a failure', async () => {
    repo = await TestRepo.create({
      'pipeline.yaml': `
stages:
  bad:
    cmd: exit 1
    outs: [bad.txt]
  after-bad:
    cmd: cp bad.txt after.txt
    deps: [bad.txt]
    outs: [after.txt]
  good:
    cmd: echo ok > good.txt
    outs: [good.txt]
`,
    });
    const r = await repo.pipe(['run', '--keep-going', '--json', '--jobs', '1']);
    expect(r.code).toBe(1);
    const s = summaryOf(r.stdout);
    expect(s.failed).toEqual(['bad']);
    expect(s.ran).toEqual(['good']);
    expect(s.notRun).toEqual(['after-bad']);
    expect(await repo.read('pipeline.lock')).toContain('good:');
    expect(await repo.read('pipeline.lock')).not.toContain('bad:');
  });
});
