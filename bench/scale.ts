/**
 * How the cost of a no-op and of a one-file change grows with the number of
 * dep files (1,000 / 10,000 / 100,000), side by side with Snakemake on the
 * same files, with peak memory. Prints one Markdown table.
 *
 *   node --import tsx bench/scale.ts [sizes=1000,10000,100000] [--runs 5] [--cap 600] [--no-snakemake] [--keep]
 *
 * The pipeline is the same two rules in both tools: a per-file copy (pipe: the
 * plain-JS per-item stage `bench-copy` from bench/stages, so the first full run
 * is not 100,000 process spawns; Snakemake: `cp {input} {output}`) and an
 * aggregate over all copies (`find | wc -l` in both). Timings are
 * `hyperfine -N` with a warm-up run and `--runs` runs; a one-file change
 * rewrites one input file in hyperfine's `--prepare` (not timed). Peak RSS is
 * `/usr/bin/time -f %M` of one more run. Snakemake is given `--cap` seconds
 * (default 10 minutes) for one `-n` first; if it does not finish, its rows say so.
 * Files live under the OS temp folder; run `npm run build` first so
 * `bin/pipe.js` uses the bundled `dist/`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setUpSnakemake } from './snakemake-twin.ts';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const sizes = (/^[\d,]+$/.test(argv[0] ?? '') ? argv[0]! : '1000,10000,100000').split(',').map(Number);
const RUNS = flag('runs', 5);
const CAP = flag('cap', 600);
const keep = argv.includes('--keep');

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(repo, 'bin', 'pipe.js');
const env = { ...process.env, CI: '1', PIPE_STAGES_PATH: path.join(repo, 'bench', 'stages') };
const hasSnakemake = !argv.includes('--no-snakemake') && spawnSync('snakemake', ['--version']).status === 0;
const PER_DIR = 100;

interface Timing {
  mean: number;
  stddev: number;
  runs: number;
}
interface Row {
  files: number;
  what: string;
  tool: 'pipe' | 'snakemake';
  t?: Timing;
  rss?: number;
  note?: string;
}

const fileOf = (i: number) => path.join(`d${String(Math.floor(i / PER_DIR)).padStart(4, '0')}`, `f${String(i).padStart(6, '0')}.txt`);

async function makeTree(dir: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += PER_DIR) {
    await mkdir(path.join(dir, 'data', path.dirname(fileOf(i))), { recursive: true });
    const batch = [];
    for (let j = i; j < Math.min(n, i + PER_DIR); j++) batch.push(writeFile(path.join(dir, 'data', fileOf(j)), `${j}\n`));
    await Promise.all(batch);
  }
}

/** hyperfine over `cmd` (a shell-free word list), `prepare` run before each timed run. */
function hyperfine(dir: string, cmd: string, runs: number, prepare?: string): Timing {
  const json = path.join(dir, `hf-${Date.now()}.json`);
  const args = ['-N', '--style', 'none', '--warmup', '1', '--runs', String(runs), '--export-json', json];
  if (prepare) args.push('--prepare', `sh -c "${prepare}"`);
  execFileSync('hyperfine', [...args, cmd], { cwd: dir, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const r = (JSON.parse(execFileSync('cat', [json], { encoding: 'utf8' })) as { results: { mean: number; stddev: number | null; times: number[] }[] }).results[0]!;
  return { mean: r.mean, stddev: r.stddev ?? 0, runs: r.times.length };
}

/** Wall seconds and peak RSS (MiB) of one run of `cmd` (after `prepare`), or undefined past `cap` seconds. */
function once(dir: string, cmd: string, cap: number, prepare?: string): { seconds: number; rss: number } | undefined {
  if (prepare) execFileSync('sh', ['-c', prepare], { cwd: dir });
  const t = performance.now();
  const r = spawnSync('timeout', [String(cap), '/usr/bin/time', '-f', '%M', 'sh', '-c', `${cmd} >/dev/null`], { cwd: dir, env, encoding: 'utf8' });
  if (r.status === 124) return undefined;
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return { seconds: (performance.now() - t) / 1000, rss: Number(r.stderr.trim().split('\n').pop()) / 1024 };
}

async function measure(n: number): Promise<Row[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `pipe-bench-scale-${n}-`));
  const rows: Row[] = [];
  try {
    await makeTree(dir, n);
    await writeFile(
      path.join(dir, 'pipeline.yaml'),
      `stages:
  copy:
    uses: bench-copy
    params: { in: data, out: work }
  count:
    cmd: find work -type f | wc -l > count.txt
    deps: [work]
    outs: [count.txt]
`,
    );
    const t0 = performance.now();
    execFileSync(process.execPath, [bin, 'run'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'inherit'] });
    console.error(`${n} files: first full pipe run ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const pipeCmd = (sub: string) => `${process.execPath} ${bin} ${sub}`;
    const touchOne = (tag: string) => `date +${tag}%s%N > data/${fileOf(0)}`;
    const pipeRows: [string, string, string | undefined][] = [
      ['no-op `status`', pipeCmd('status'), undefined],
      ['no-op `run`', pipeCmd('run'), undefined],
      ['one file changed, `run`', pipeCmd('run'), touchOne('pipe')],
    ];
    for (const [what, cmd, prep] of pipeRows) {
      const t = hyperfine(dir, cmd, RUNS, prep);
      const one = once(dir, cmd, CAP, prep);
      rows.push({ files: n, what, tool: 'pipe', t, rss: one?.rss });
    }

    if (!hasSnakemake) {
      for (const what of ['no-op `-n`', 'one file changed, `-c1`']) rows.push({ files: n, what, tool: 'snakemake', note: 'not run' });
      return rows;
    }
    await setUpSnakemake(dir);
    const smkRows: [string, string, string | undefined][] = [
      ['no-op `-n`', 'snakemake -n -c1 --quiet', undefined],
      ['one file changed, `-c1`', 'snakemake -c1 --quiet', touchOne('smk')],
    ];
    for (const [what, cmd, prep] of smkRows) {
      // A change costs Snakemake at least its no-op (it builds the same DAG first): not tried once that hit the cap.
      if (rows.some((r) => r.tool === 'snakemake' && r.files === n && r.note)) {
        rows.push({ files: n, what, tool: 'snakemake', note: `not tried (the no-op did not finish in ${CAP} s)` });
        continue;
      }
      // One capped run first: Snakemake's time grows faster than linearly.
      const first = once(dir, cmd, CAP, prep);
      if (!first) {
        rows.push({ files: n, what, tool: 'snakemake', note: `did not finish in ${CAP} s` });
        continue;
      }
      // Several runs only while that fits in the cap; otherwise the single run stands.
      const runs = Math.min(RUNS, Math.floor(CAP / first.seconds) - 1);
      const t = runs >= 2 ? hyperfine(dir, cmd, runs, prep) : { mean: first.seconds, stddev: 0, runs: 1 };
      rows.push({ files: n, what, tool: 'snakemake', t, rss: first.rss });
    }
    return rows;
  } finally {
    if (keep) console.error(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

const fmt = (s: number) => (s >= 10 ? `${s.toFixed(1)} s` : `${(s * 1000).toFixed(0)} ms`);
const version = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout?.trim().split('\n')[0] || 'not found';
console.log(
  [
    `compares: ${version(process.execPath, [bin, '--version'])} (node ${process.version}) with Snakemake ${hasSnakemake ? version('snakemake', ['--version']) : '(not run)'},`,
    'the same two rules over the same N small files (100 per folder): a per-file copy (pipe: the JS per-item stage bench-copy',
    'in worker threads; Snakemake: `cp {input} {output}`) and an aggregate `find | wc -l` over the copies. Each command is',
    'a fresh process (start-up included). "one file changed" rewrites one input before each timed run (not timed): both',
    'tools copy that file and rerun the aggregate. Peak RSS: /usr/bin/time -f %M of one more run (its largest process).',
    `Snakemake gets ${CAP} s for one run at each size first; rows it cannot finish in that time say so.`,
  ].join('\n'),
);
console.log(`machine: ${os.cpus().length} cores, load average at start ${os.loadavg()[0]!.toFixed(1)}; hyperfine -N, warm-up 1, ${RUNS} runs (fewer for Snakemake when a run is long)`);
const all: Row[] = [];
for (const n of sizes) all.push(...(await measure(n)));
console.log(`load average at end ${os.loadavg()[0]!.toFixed(1)}\n`);
console.log('| dep files | what | pipe: mean ± sd (runs) | pipe peak RSS | Snakemake: mean ± sd (runs) | Snakemake peak RSS | Snakemake / pipe | ms per 1,000 files: pipe / Snakemake |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
const pair: [string, string][] = [
  ['no-op `status`', 'no-op `-n`'],
  ['no-op `run`', 'no-op `-n`'],
  ['one file changed, `run`', 'one file changed, `-c1`'],
];
for (const n of sizes) {
  for (const [p, s] of pair) {
    const a = all.find((r) => r.files === n && r.what === p)!;
    const b = all.find((r) => r.files === n && r.what === s);
    const cell = (r?: Row) => (r?.t ? `${fmt(r.t.mean)} ± ${fmt(r.t.stddev)} (${r.t.runs})` : (r?.note ?? '—'));
    const rss = (r?: Row) => (r?.rss ? `${r.rss.toFixed(0)} MiB` : '—');
    const ratio = a.t && b?.t ? `${(b.t.mean / a.t.mean).toFixed(1)}x` : b?.note?.startsWith('did not finish') ? `> ${(CAP / a.t!.mean).toFixed(0)}x` : '—';
    const per = (r?: Row) => (r?.t ? ((r.t.mean * 1000) / (n / 1000)).toFixed(1) : '—');
    console.log(`| ${n.toLocaleString('en')} | ${p} vs ${s} | ${cell(a)} | ${rss(a)} | ${cell(b)} | ${rss(b)} | ${ratio} | ${per(a)} / ${per(b)} |`);
  }
}
