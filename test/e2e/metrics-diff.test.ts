/**
 * `pipe metrics diff` and `pipe params diff` on a temporary git repository
 * with two commits: metrics at a revision come from the cache by the hashes
 * that revision's pipeline.lock recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { TestRepo } from '../helpers/repo.ts';

// score.sh writes metrics from its params; `eval` writes a metrics file inside an out folder.
const PIPELINE = (scale: number, extra = '') => `
stages:
  score:
    cmd: sh score.sh ${scale}
    params: { scale: ${scale}, name: base }
    metrics: [metrics.json]
  eval:
    cmd: mkdir -p results && sh score.sh ${scale} && mv metrics.json.tmp results/metrics.json
    deps: [score.sh]
    params: { scale: ${scale}${extra} }
    outs: [results]
    metrics: [results/metrics.json]
`;
// Writes metrics.json and a copy for the eval stage; the eval stage keeps only its copy.
const SCORE_SH = `node -e "const s=+process.argv[1]; const j=JSON.stringify({miou: s/4, acc: 0.9, backend: 'cpu', iou: {valve: s/8}}); require('fs').writeFileSync('metrics.json', j); require('fs').writeFileSync('metrics.json.tmp', j)" $1
`;

function git(root: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=pipe test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd: root, encoding: 'utf8' });
}

async function commitRun(repo: TestRepo, message: string): Promise<void> {
  const run = await repo.pipe(['run']);
  expect(run.code, run.stderr).toBe(0);
  git(repo.root, 'add', '-A');
  git(repo.root, 'commit', '-q', '-m', message);
}

// The tests share one repository with two commits and run in order (the last makes its own):
// the later ones change the working tree, the last one deletes the cache.
describe('pipe metrics diff / params diff', () => {
  let repo: TestRepo;
  beforeAll(async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': PIPELINE(2), 'score.sh': SCORE_SH, '.gitignore': 'cache/\n.pipe/\n' });
    git(repo.root, 'init', '-q');
    await commitRun(repo, 'scale 2');
    await repo.write('pipeline.yaml', PIPELINE(3));
    await commitRun(repo, 'scale 3');
  });
  afterAll(async () => repo?.dispose());

  it('shows the metrics that changed between a revision and the working tree, with deltas', async () => {
    const same = await repo.pipe(['metrics', 'diff']);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toContain('no metrics changed since HEAD');

    const d = await repo.pipe(['metrics', 'diff', 'HEAD~1']);
    expect(d.code, d.stderr).toBe(0);
    const lines = d.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^stage\s+file\s+metric\s+HEAD~1\s+workspace\s+change$/);
    expect(lines).toContainEqual(expect.stringMatching(/^score\s+metrics\.json\s+miou\s+0\.5\s+0\.75\s+\+0\.25$/));
    expect(lines).toContainEqual(expect.stringMatching(/^eval\s+results\/metrics\.json\s+iou\.valve\s+0\.25\s+0\.375\s+\+0\.125$/));
    // Unchanged metrics (acc, backend) are not listed.
    expect(d.stdout).not.toMatch(/\bacc\b/);

    const json = await repo.pipe(['metrics', 'diff', 'HEAD~1', '--json']);
    const parsed = JSON.parse(json.stdout) as { rev: string; diffs: { stage: string; key: string; old: number; new: number; delta: number }[] };
    expect(parsed.rev).toBe('HEAD~1');
    const miou = parsed.diffs.find((x) => x.stage === 'score' && x.key === 'miou')!;
    expect(miou.old).toBe(0.5);
    expect(miou.new).toBe(0.75);
    expect(miou.delta).toBeCloseTo(0.25);
  });

  it('pipe params diff lists changed, added and removed params', async () => {
    await repo.write('pipeline.yaml', PIPELINE(5, ', tta: true'));
    const d = await repo.pipe(['params', 'diff', 'HEAD~1']);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^stage\s+param\s+HEAD~1\s+workspace\s+change$/m);
    expect(d.stdout).toMatch(/^score\s+scale\s+2\s+5\s+\+3$/m);
    expect(d.stdout).toMatch(/^eval\s+tta\s+-\s+true$/m);
    expect(d.stdout).not.toMatch(/\bname\b/);
    const none = await repo.pipe(['params', 'diff', 'HEAD']);
    expect(none.stdout).toMatch(/^score\s+scale\s+3\s+5\s+\+2$/m);
    await repo.write('pipeline.yaml', PIPELINE(3));
    expect((await repo.pipe(['params', 'diff'])).stdout).toContain('no params changed since HEAD');
  });

  it('compares uncommitted changes with HEAD, and says when an object is missing from the cache', async () => {
    await repo.write('pipeline.yaml', PIPELINE(4));
    expect((await repo.pipe(['run'])).code).toBe(0);
    const d = await repo.pipe(['metrics', 'diff']);
    expect(d.stdout).toMatch(/score\s+metrics\.json\s+miou\s+0\.75\s+1\s+\+0\.25/);

    await rm(repo.path('cache'), { recursive: true, force: true });
    const gone = await repo.pipe(['metrics', 'diff', 'HEAD~1']);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toMatch(/score\s+metrics\.json\s+\(file\)\s+before: metrics\.json \(object [0-9a-f]{16}\) is not in the cache/);
    expect(gone.stdout).toMatch(/eval\s+results\/metrics\.json\s+\(file\)\s+before: the folder results \([0-9a-f]{16}\) is not in the cache/);
    // The working tree's values are still listed.
    expect(gone.stdout).toMatch(/score\s+metrics\.json\s+miou\s+-\s+1/);
  });

  it('fails clearly outside git and for an unknown revision', async () => {
    const repo = await TestRepo.create({ 'pipeline.yaml': PIPELINE(2), 'score.sh': SCORE_SH });
    try {
    const outside = await repo.pipe(['metrics', 'diff'], { GIT_CEILING_DIRECTORIES: repo.root.replace(/\/[^/]+$/, '') });
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('is not inside a git repository');
    git(repo.root, 'init', '-q');
    const noCommit = await repo.pipe(['params', 'diff', 'nope']);
    expect(noCommit.code).toBe(2);
    expect(noCommit.stderr).toContain("unknown git revision 'nope'");
    } finally {
      await repo.dispose();
    }
  });
});
