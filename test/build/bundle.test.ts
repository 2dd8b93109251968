/**
 * The esbuild bundle (scripts/build.mjs): built into a throw-away copy of the
 * package layout, then run for real, so workers, child processes, built-in
 * stages and a user's TypeScript stage are all loaded from the bundle.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PKG_ROOT, jsonEvents } from '../helpers/repo.ts';

const run = promisify(execFile);

// A per-item stage that throws a FailureError from its OWN copy of
// src/failure.ts (loaded through tsx), which the bundled worker must still
// recognise: its kind and message must come through unchanged.
const SHOUT = `
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { FailureError, failure } from '../../src/failure.ts';
import { defineStage } from '../../src/stage-api.ts';

const Params = z.object({ in: z.string(), out: z.string() }).strict();
export default defineStage<z.infer<typeof Params>>({
  kind: 'per-item',
  name: 'shout',
  description: 'upper-cases text files',
  params: Params,
  io: (p) => ({ deps: [], outs: [], metrics: [], map: { in: p.in, out: p.out } }),
  async processItem(ctx) {
    const base = path.basename(ctx.rel);
    if (base.startsWith('bad')) throw new FailureError(failure('bad-params', \`\${ctx.rel}: refused by the shout stage\`));
    await writeFile(path.join(ctx.outDir, base), (await readFile(ctx.input, 'utf8')).toUpperCase());
    return {};
  },
});
`;

// A whole stage that must run in its own process (child-entry from the bundle).
const APART = `
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { defineStage } from '../../src/stage-api.ts';

const Params = z.object({ out: z.string() }).strict();
export default defineStage<z.infer<typeof Params>>({
  kind: 'whole',
  name: 'apart',
  description: 'writes its pid',
  params: Params,
  isolate: true,
  io: (p) => ({ deps: [], outs: [p.out], metrics: [] }),
  async run(ctx) {
    const out = ctx.path(ctx.params.out);
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify({ pid: process.pid, ppid: process.ppid }));
  },
});
`;

let tmp: string;
/** The throw-away package: package.json, src/ and stages/ (links to ours), dist/ (built here). */
let pkg: string;
/** A pipeline folder using the package. */
let work: string;

function pipe(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(pkg, 'dist', 'src', 'cli', 'entry.js'), ...args], {
      cwd: work,
      env: { ...process.env, CI: '1', NO_COLOR: '1', PIPE_STAGES_PATH: path.join(pkg, 'user-stages') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr, pid: child.pid! }));
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pipe-bundle-'));
  pkg = path.join(tmp, 'pkg');
  work = path.join(tmp, 'work');
  await mkdir(pkg);
  await copyFile(path.join(PKG_ROOT, 'package.json'), path.join(pkg, 'package.json'));
  for (const d of ['src', 'stages', 'node_modules']) await symlink(path.join(PKG_ROOT, d), path.join(pkg, d));
  for (const [name, text] of [['shout', SHOUT], ['apart', APART]] as const) {
    await mkdir(path.join(pkg, 'user-stages', name), { recursive: true });
    await writeFile(path.join(pkg, 'user-stages', name, 'index.ts'), text);
  }
  await run(process.execPath, [path.join(PKG_ROOT, 'scripts', 'build.mjs'), '--outdir', path.join(pkg, 'dist')], { cwd: PKG_ROOT });
  await mkdir(path.join(work, 'docs'), { recursive: true });
  await writeFile(path.join(work, 'docs', 'a.txt'), 'hello\n');
  await writeFile(path.join(work, 'docs', 'bad.txt'), 'no\n');
  await writeFile(
    path.join(work, 'pipeline.yaml'),
    `stages:
  synth:
    uses: synth
    params: { out: data, width: 32, height: 32, count: 2, preview: 0 }
  shout:
    uses: shout
    params: { in: docs, out: work/shout }
  apart:
    uses: apart
    params: { out: work/apart.json }
`,
  );
}, 120_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('scripts/build.mjs', () => {
  it('keeps entry points at their paths, puts shared code in chunks/ and leaves no temporary folder', async () => {
    const dist = path.join(pkg, 'dist');
    for (const rel of ['src/cli/entry.js', 'src/exec/item-worker.js', 'src/exec/child-entry.js', 'stages/synth/worker.js']) {
      expect(existsSync(path.join(dist, rel)), rel).toBe(true);
    }
    const stages = (await readdir(path.join(PKG_ROOT, 'stages'), { withFileTypes: true })).filter((e) => e.isDirectory() && e.name !== 'lib');
    expect(stages.length).toBeGreaterThan(0);
    for (const s of stages) expect(existsSync(path.join(dist, 'stages', s.name, 'index.js')), s.name).toBe(true);
    expect((await readdir(path.join(dist, 'chunks'))).length).toBeGreaterThan(0);
    // Only entry points sit outside chunks/: an inner module with its own file would be a second copy.
    expect(existsSync(path.join(dist, 'src', 'failure.js'))).toBe(false);
    expect((await readdir(pkg)).filter((n) => n.startsWith('dist.'))).toEqual([]);
  });

  it('runs a built-in stage with its worker threads, a user per-item stage and an isolated stage from the bundle', async () => {
    const r = await pipe(['run', '--json', '--keep-going']);
    // The bad item fails the shout stage; everything else must have worked.
    expect(r.code, r.stderr).not.toBe(0);
    const end = jsonEvents(r.stdout).find((e) => e.type === 'run-finished') as { summary: { ran: string[]; failed: string[] } } | undefined;
    expect(end, r.stdout + r.stderr).toBeDefined();
    expect(end!.summary.ran.sort()).toEqual(['apart', 'synth']);
    expect(end!.summary.failed).toEqual(['shout']);

    // synth rendered in worker threads started from dist/stages/synth/worker.js.
    for (const c of ['bright', 'dark']) expect((await readdir(path.join(work, 'data', c, 'images'))).sort()).toHaveLength(2);

    // The user's FailureError kept its kind and message across the two copies of src/failure.ts.
    const text = JSON.stringify(jsonEvents(r.stdout).filter((e) => e.type !== 'run-finished'));
    expect(text).toContain('bad.txt: refused by the shout stage');
    expect(text).toContain('"kind":"bad-params"');

    // The isolated stage ran in a child of the pipe process.
    const apart = JSON.parse(await readFile(path.join(work, 'work', 'apart.json'), 'utf8')) as { pid: number; ppid: number };
    expect(apart.pid).not.toBe(r.pid);
    expect(apart.ppid).toBe(r.pid);
  }, 120_000);
});
