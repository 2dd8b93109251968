/**
 * Bad input of every kind: a clear message naming the file and position, no
 * stack trace, and nothing changed.
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { TestRepo } from '../helpers/repo.ts';

const GOOD = `
stages:
  a:
    cmd: echo a > a.txt
    outs: [a.txt]
`;

const CASES: { name: string; yaml: string; expect: RegExp[] }[] = [
  { name: 'invalid YAML', yaml: 'stages:\n  a:\n    cmd: [unclosed\n', expect: [/pipeline\.yaml:\d+:\d+/] },
  { name: 'unknown stage key', yaml: 'stages:\n  a:\n    cmd: echo\n    outz: [x]\n', expect: [/pipeline\.yaml:4:5/, /outz/, /outs/] },
  { name: 'undefined var', yaml: 'stages:\n  a:\n    cmd: echo ${nope} > a.txt\n    outs: [a.txt]\n', expect: [/pipeline\.yaml:3:\d+/, /nope/] },
  {
    name: 'cycle',
    yaml: 'stages:\n  a:\n    cmd: cp b a\n    deps: [b]\n    outs: [a]\n  b:\n    cmd: cp a b\n    deps: [a]\n    outs: [b]\n',
    expect: [/cycle/i, /a/, /b/],
  },
  { name: 'duplicate out', yaml: 'stages:\n  a:\n    cmd: echo > x\n    outs: [x]\n  b:\n    cmd: echo > x\n    outs: [x]\n', expect: [/x/, /\ba\b/, /\bb\b/] },
  { name: 'out outside the repo', yaml: 'stages:\n  a:\n    cmd: echo > ../x\n    outs: [../x]\n', expect: [/pipeline\.yaml:4:\d+/, /outside/i] },
  { name: 'absolute out', yaml: 'stages:\n  a:\n    cmd: echo > /tmp/x\n    outs: [/tmp/x]\n', expect: [/pipeline\.yaml:4:\d+/] },
  { name: 'unknown built-in', yaml: 'stages:\n  a:\n    uses: no-such-stage\n', expect: [/pipeline\.yaml:3:\d+/, /no-such-stage/] },
  { name: 'both uses and cmd', yaml: 'stages:\n  a:\n    uses: synth\n    cmd: echo\n', expect: [/pipeline\.yaml/, /uses|cmd/] },
];

describe('bad pipeline.yaml', () => {
  let repo: TestRepo;
  afterEach(async () => repo?.dispose());

  for (const c of CASES) {
    it(`${c.name}: clear message, exit 2, lock untouched`, async () => {
      repo = await TestRepo.create({ 'pipeline.yaml': GOOD });
      expect((await repo.pipe(['run'])).code).toBe(0);
      const lock = await repo.read('pipeline.lock');
      await repo.write('pipeline.yaml', c.yaml);
      const r = await repo.pipe(['run']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      for (const re of c.expect) expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+\)?\n/);
      expect(await repo.read('pipeline.lock')).toBe(lock);
      expect(await repo.read('a.txt')).toBe('a\n');
    });
  }

  it('a missing dep names the stage and the path', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: cat in.txt > a.txt\n    deps: [in.txt]\n    outs: [a.txt]\n' });
    const r = await repo.pipe(['run']);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/in\.txt/);
    expect(r.stderr + r.stdout).toMatch(/\ba\b/);
  });

  it('hash caches that cannot be saved are a warning: status still answers, run still records its lock', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: cp -r in out\n    deps: [in]\n    outs: [out]\n', 'in/x.txt': 'x' });
    expect((await repo.pipe(['run'])).code).toBe(0);
    // A file where the folder records go: every save there fails (root ignores permissions, this does not).
    await rm(repo.path('.pipe/folders'), { recursive: true, force: true });
    await repo.write('.pipe/folders', 'not a folder');
    await repo.write('in/y.txt', 'y');
    const st = await repo.pipe(['status']);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/a\s+stale/);
    expect(st.stderr).toMatch(/warning: could not save pipe's hash caches/);
    const run = await repo.pipe(['run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/could not save pipe's hash caches/);
    expect(await repo.read('pipeline.lock')).toMatch(/out/);
    expect(await repo.read('out/y.txt')).toBe('y');
  });

  it('a corrupt pipeline.lock is reported with a hint and left as it is', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': GOOD });
    await repo.write('pipeline.lock', 'version: 1\nstages: [this is: not valid\n');
    const r = await repo.pipe(['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pipeline\.lock/);
    expect(await repo.read('pipeline.lock')).toBe('version: 1\nstages: [this is: not valid\n');
  });

  it('an unknown command and a bad flag are usage errors', async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': GOOD });
    expect((await repo.pipe(['frobnicate'])).code).toBe(2);
    expect((await repo.pipe(['run', '--jobs', 'zero'])).code).toBe(2);
    expect((await repo.pipe(['run', 'nosuchstage'])).stderr).toMatch(/nosuchstage/);
  });
});

describe('other commands', () => {
  let repo: TestRepo;
  afterEach(async () => repo?.dispose());

  it('dag prints mermaid and dot; metrics prints a table; gc keeps what the lock needs', async () => {
    repo = await TestRepo.create({
      'pipeline.yaml': `
stages:
  make:
    foreach: [1, 2]
    cmd: sh m.sh \${item}
    metrics: [m\${item}.json]
  sum:
    cmd: cat m1.json m2.json > all.txt
    deps: [m1.json, m2.json]
    outs: [all.txt]
`,
      'm.sh': 'printf \'{"score": %s}\' "$1" > "m$1.json"\n',
    });
    expect((await repo.pipe(['run'])).code).toBe(0);
    const mermaid = await repo.pipe(['dag', '--mermaid']);
    expect(mermaid.stdout).toMatch(/flowchart/);
    expect(mermaid.stdout).toMatch(/make@1/);
    const dot = await repo.pipe(['dag', '--dot']);
    expect(dot.stdout).toMatch(/digraph/);
    const metrics = await repo.pipe(['metrics']);
    expect(metrics.stdout).toMatch(/make@1\s+1/);
    expect(metrics.stdout).toMatch(/make@2\s+2/);
    const metricsJson = JSON.parse((await repo.pipe(['metrics', '--json'])).stdout);
    expect(metricsJson).toHaveLength(2);

    // An output no lock entry refers to any more becomes garbage.
    await repo.write('pipeline.yaml', (await repo.read('pipeline.yaml')).replace('cat m1.json m2.json', 'cat m2.json m1.json'));
    expect((await repo.pipe(['run'])).code).toBe(0);
    const dry = await repo.pipe(['gc', '--dry-run', '--keep-days', '0']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/1 object/);
    const gc = await repo.pipe(['gc', '--keep-days', '0']);
    expect(gc.code).toBe(0);
    const co = await repo.pipe(['checkout']);
    expect(co.code, co.stderr).toBe(0);
  });
});
