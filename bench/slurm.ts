/**
 * The Slurm executor's cost against local execution, side by side in one run
 * (needs a cluster: scripts/slurm-up.sh).
 *  1. Per-job overhead: a `cmd:` stage that only writes two timestamps, run
 *     `--force` N times locally and on Slurm. From the run's JSON events and
 *     the command's own clock: stage start -> command start (submit to start),
 *     command end -> stage committed (end to commit), and the whole stage.
 *  2. A per-item stage over `items` files: the worker pool here vs Slurm arrays
 *     of `chunk` items; full run, and the rerun after one file changed.
 *   node --import tsx bench/slurm.ts [repeats=5] [items=1000] [chunk=100] [workMs=5]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repeats = Number(process.argv[2] ?? 5);
const N = Number(process.argv[3] ?? 1000);
const chunk = Number(process.argv[4] ?? 100);
const workMs = Number(process.argv[5] ?? 5);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'pipe.js');
const env = { ...process.env, PIPE_STAGES_PATH: path.join(root, 'bench', 'stages'), CI: '1' };

try {
  execFileSync('sinfo', ['-h'], { stdio: 'ignore' });
} catch {
  console.error('no Slurm cluster answers sinfo: start one with scripts/slurm-up.sh');
  process.exit(2);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

function pipe(dir: string, args: string[]): { ms: number; events: Array<Record<string, unknown>> } {
  const t = process.hrtime.bigint();
  const out = execFileSync(process.execPath, [bin, ...args, '--json'], { cwd: dir, env, encoding: 'utf8', maxBuffer: 256 << 20 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  return { ms, events: out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

// 1. Per-job overhead.
const jobDir = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-slurm-'));
await writeFile(path.join(jobDir, 'pipeline.yaml'), 'stages:\n  tick:\n    cmd: date +%s%3N > t.txt && date +%s%3N >> t.txt\n    outs: [t.txt]\n');
const rows: string[] = [];
for (const executor of ['local', 'slurm']) {
  const toStart: number[] = [];
  const toCommit: number[] = [];
  const whole: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const { events } = pipe(jobDir, ['run', '--force', '--executor', executor]);
    const at = (type: string) => Date.parse(String(events.find((e) => e.type === type && e.stage === 'tick')!.time));
    const [start, end] = (await readFile(path.join(jobDir, 't.txt'), 'utf8')).trim().split('\n').map(Number) as [number, number];
    toStart.push(start - at('stage-started'));
    toCommit.push(at('stage-finished') - end);
    whole.push(at('stage-finished') - at('stage-started'));
  }
  rows.push(`| ${executor} | ${fmt(median(toStart))} | ${fmt(median(toCommit))} | ${fmt(median(whole))} |`);
}
console.log(`| one \`cmd:\` stage (median of ${repeats}) | stage start -> command start | command end -> committed | whole stage |`);
console.log('| --- | --- | --- | --- |');
for (const r of rows) console.log(r);
await rm(jobDir, { recursive: true, force: true });

// 2. A per-item stage as arrays.
const itemRows: string[] = [];
for (const executor of ['local', 'slurm']) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-slurm-items-'));
  await mkdir(path.join(dir, 'images'), { recursive: true });
  const payload = Buffer.alloc(16 * 1024, 7);
  for (let i = 0; i < N; i++) await writeFile(path.join(dir, 'images', `img${i}.bin`), Buffer.concat([Buffer.from(String(i)), payload]));
  await writeFile(
    path.join(dir, 'pipeline.yaml'),
    `stages:\n  work:\n    uses: bench-copy\n    params: { in: images, out: out, workMs: ${workMs} }\n    resources: { chunk: ${chunk} }\n`,
  );
  const full = pipe(dir, ['run', '--executor', executor]).ms;
  await writeFile(path.join(dir, 'images', 'img7.bin'), 'changed');
  const one = pipe(dir, ['run', '--executor', executor]).ms;
  itemRows.push(`| ${executor === 'local' ? 'worker threads here' : `Slurm arrays of ${chunk} (${Math.ceil(N / chunk)} tasks)`} | ${fmt(full)} | ${fmt(one)} |`);
  await rm(dir, { recursive: true, force: true });
}
console.log(`\n| per-item stage, ${N} files, ${workMs} ms work each | full run | rerun after 1 changed |`);
console.log('| --- | --- | --- |');
for (const r of itemRows) console.log(r);
