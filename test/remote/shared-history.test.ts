/**
 * A shared study in git: pipeline.lock committed at each experiment, the
 * cache on a remote. A colleague's fresh `git clone` pulls any commit's
 * outputs, and `pipe metrics diff` compares across commits.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { PKG_ROOT, TestRepo } from '../helpers/repo.ts';
import { useCleanups } from '../helpers/cleanup.ts';

const PIPELINE = (scale: number) => `
stages:
  score:
    cmd: >-
      node -e "require('fs').writeFileSync('metrics.json', JSON.stringify({miou: ${scale} / 4}))"
    params: { scale: ${scale} }
    metrics: [metrics.json]
`;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=pipe test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' });
}

const { track, tempDir } = useCleanups();

describe('a study shared through git and a remote', () => {
  it("this repo's .gitignore lets pipeline.lock be committed, and keeps the local remote settings out", () => {
    expect(spawnSync('git', ['check-ignore', '-q', 'pipeline.lock'], { cwd: PKG_ROOT }).status).toBe(1);
    expect(spawnSync('git', ['check-ignore', '-q', 'pipe.remotes.local.yaml'], { cwd: PKG_ROOT }).status).toBe(0);
  });

  it('a fresh clone pulls two commits and diffs their metrics', async () => {
    const remote = await tempDir('pipe-remote-');
    const a = await TestRepo.create({ 'pipeline.yaml': PIPELINE(2), 'pipe.remotes.yaml': `remotes:\n  nas: { url: ${remote} }\n`, '.gitignore': 'cache/\n.pipe/\n' });
    track(a);
    git(a.root, 'init', '-q');
    for (const scale of [2, 3]) {
      await a.write('pipeline.yaml', PIPELINE(scale));
      expect((await a.pipe(['run'])).code).toBe(0);
      expect((await a.pipe(['push'])).code).toBe(0);
      git(a.root, 'add', '-A');
      git(a.root, 'commit', '-q', '-m', `scale ${scale}`);
    }
    expect(git(a.root, 'ls-files')).toContain('pipeline.lock');

    const parent = await tempDir('pipe-clone-');
    const b = path.join(parent, 'b');
    git(parent, 'clone', '-q', a.root, b);
    const pipe = (...args: string[]) => spawnSync(process.execPath, [path.join(PKG_ROOT, 'bin', 'pipe.js'), ...args], { cwd: b, encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1' } });
    // Without the older commit's objects, the diff says what is missing.
    expect(pipe('pull').status).toBe(0);
    expect(pipe('metrics', 'diff', 'HEAD~1').stdout).toMatch(/before: metrics\.json \(object [0-9a-f]{16}\) is not in the cache/);
    git(b, 'checkout', '-q', 'HEAD~1');
    expect(pipe('pull').status).toBe(0);
    git(b, 'checkout', '-q', '-');
    expect(pipe('pull').status).toBe(0);
    const d = pipe('metrics', 'diff', 'HEAD~1');
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^score\s+metrics\.json\s+miou\s+0\.5\s+0\.75\s+\+0\.25$/m);
    expect(pipe('status', '--json').stdout).toContain('"action":"up-to-date"');
  }, 120_000);
});
