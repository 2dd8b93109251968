/**
 * A full disk: the stage fails with a message that says so and names the file,
 * and the previous output, the cache and the lock stay as they were. Needs a
 * tiny tmpfs (root, as on CI); skipped with a message where mounting is not allowed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PIPE_BIN, PKG_ROOT } from '../helpers/repo.ts';

const STAGES_PATH = path.join(PKG_ROOT, 'test', 'fixtures', 'e2e-stages');
let mountPoint = '';
let mounted = false;

beforeAll(async () => {
  mountPoint = await mkdtemp(path.join(os.tmpdir(), 'pipe-tinyfs-'));
  mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint]).status === 0;
  if (!mounted) console.warn('full-disk test skipped: cannot mount a tmpfs here (needs root)');
});
afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
});

function pipe(args: string[]) {
  return spawnSync(process.execPath, [PIPE_BIN, ...args], {
    cwd: mountPoint,
    env: { ...process.env, CI: '1', NO_COLOR: '1', PIPE_STAGES_PATH: STAGES_PATH },
    encoding: 'utf8',
  });
}

describe('a full disk', () => {
  it('fails the stage with a clear message and keeps the previous output, cache and lock', async (ctx) => {
    if (!mounted) ctx.skip();
    const yaml = (mb: number) => `stages:\n  fill:\n    uses: filler\n    params: { out: big.bin, mb: ${mb} }\n`;
    await writeFile(path.join(mountPoint, 'pipeline.yaml'), yaml(0.25));
    const first = pipe(['run']);
    expect(first.status, first.stderr).toBe(0);
    const lock = await readFile(path.join(mountPoint, 'pipeline.lock'), 'utf8');
    const before = await readFile(path.join(mountPoint, 'big.bin'));

    await writeFile(path.join(mountPoint, 'pipeline.yaml'), yaml(8));
    const r = pipe(['run']);
    expect(r.status).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/ENOSPC/);
    expect(out).toMatch(/disk is full/);
    expect(out).toMatch(/\.pipe\/tmp\//); // names the file it was writing
    expect(out).not.toMatch(/\n\s+at .*:\d+:\d+\)?\n/);
    expect(await readFile(path.join(mountPoint, 'pipeline.lock'), 'utf8')).toBe(lock);
    expect((await readFile(path.join(mountPoint, 'big.bin'))).equals(before)).toBe(true);

    // With room again, the same pipeline runs.
    await writeFile(path.join(mountPoint, 'pipeline.yaml'), yaml(0.5));
    expect(pipe(['run']).status).toBe(0);
  });
});
