/**
 * No-op `pipe status` / `pipe run` over a pipeline whose deps hold 10,000
 * files, side by side with `snakemake -n` on the same files: the same two
 * rules in both, a per-file `cp {in} {out}` and an aggregate over its
 * outputs. Prints a Markdown table for BENCHMARKS.md.
 *   node --import tsx bench/noop.ts [files=10000]
 */
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setUpSnakemake } from './snakemake-twin.ts';

const N = Number(process.argv[2] ?? 10_000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'pipe.js');
const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-noop-'));

const ids = Array.from({ length: N }, (_, i) => `f${String(i).padStart(5, '0')}`);
for (let i = 0; i < N; i += 100) {
  const sub = `d${String(i / 100).padStart(3, '0')}`;
  await mkdir(path.join(dir, 'data', sub), { recursive: true });
  await Promise.all(ids.slice(i, i + 100).map((id) => writeFile(path.join(dir, 'data', sub, `${id}.txt`), `${id}\n`)));
}
await writeFile(
  path.join(dir, 'pipeline.yaml'),
  `stages:
  copy:
    cmd: cp {in} {out}
    map: { in: data, out: work }
  count:
    cmd: find work -type f | wc -l > count.txt
    deps: [work]
    outs: [count.txt]
`,
);
const env = { ...process.env, CI: '1' };
const t0 = Date.now();
execFileSync(process.execPath, [bin, 'run'], { cwd: dir, env, stdio: 'inherit' });
console.error(`first full run: ${((Date.now() - t0) / 1000).toFixed(1)} s for ${N} items`);

// Snakemake twin over the same inputs, its outputs up to date so `-n` has nothing to do.
await setUpSnakemake(dir);

const hasSnakemake = spawnSync('snakemake', ['--version']).status === 0;
const cmds = [`node ${bin} status`, `node ${bin} run`, ...(hasSnakemake ? ['snakemake -n -c1 --quiet'] : [])];
const json = path.join(dir, 'hyperfine.json');
execFileSync('hyperfine', ['-N', '--warmup', '1', '--runs', '5', '--export-json', json, ...cmds], { cwd: dir, env, stdio: 'inherit' });
const results = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(json, 'utf8'))).results as { command: string; mean: number; stddev: number }[];

function peakRss(cmd: string): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', 'sh', '-c', cmd], { cwd: dir, env, encoding: 'utf8' });
  return Number(r.stderr.trim().split('\n').pop()) / 1024;
}
const base = results.find((r) => r.command.startsWith('snakemake'));
console.log(`\n| command (${N} dep files, no-op) | mean | ± | vs snakemake -n | peak RSS |`);
console.log('| --- | --- | --- | --- | --- |');
for (const r of results) {
  const ratio = base ? `${(base.mean / r.mean).toFixed(1)}x faster` : 'n/a';
  console.log(`| \`${r.command.replace(bin, 'bin/pipe.js')}\` | ${(r.mean * 1000).toFixed(0)} ms | ${(r.stddev * 1000).toFixed(0)} ms | ${r.command.startsWith('snakemake') ? '1.0x' : ratio} | ${peakRss(r.command).toFixed(0)} MiB |`);
}
