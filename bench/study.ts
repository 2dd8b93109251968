/**
 * The default pipeline from empty, timed per stage: `pipe run --json` in a
 * fresh temp folder holding only a copy of pipeline.yaml (whatever it says at
 * the time), with CPU time / wall time (how busy the cores were) and peak
 * memory, per stage and for the whole run. The README's end-to-end figure
 * comes from this.
 *
 *   node --import tsx bench/study.ts [--file pipeline.yaml] [--jobs N] [--keep]
 *
 * How it measures: the run's events give each stage's start and finish. Every
 * 250 ms the harness reads /proc for `pipe` and all its descendants (worker
 * threads are in pipe's own process; training runs in child processes): CPU
 * time (utime + stime of each live process, the last value kept for processes
 * that ended) and resident memory (the sum over the tree). A stage's CPU is the
 * tree's CPU spent while it ran; when stages overlap, each is charged the
 * whole tree's CPU of the overlap, so per-stage CPU can add up to more than the
 * total (the table says how much overlapped). The run's totals are from
 * `/usr/bin/time` (user + system of everything, the largest single process's peak RSS).
 * Run `npm run build` first so `bin/pipe.js` uses the bundled `dist/`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.resolve(opt('file') ?? path.join(repo, 'pipeline.yaml'));
const jobs = opt('jobs');
const keep = argv.includes('--keep');
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })); // /proc's CPU times are in these
const PAGE = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }));

interface Sample {
  t: number; // ms since epoch
  cpu: number; // seconds of CPU used by the tree so far
  rss: number; // MiB resident, summed over the tree
}

/** pid -> [ppid, cpu seconds, rss MiB] of every process now. */
function processes(): Map<number, [number, number, number]> {
  const out = new Map<number, [number, number, number]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // fields after the command (which may hold spaces) start after the last ')'
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      const cpu = (Number(f[11]) + Number(f[12])) / TICK;
      const rss = (Number(f[21]) * PAGE) / 2 ** 20;
      out.set(Number(name), [ppid, cpu, rss]);
    } catch {
      // the process ended between readdir and read
    }
  }
  return out;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-study-'));
try {
  await copyFile(file, path.join(dir, 'pipeline.yaml'));
  const loadStart = os.loadavg()[0]!;
  const args = [path.join(repo, 'bin', 'pipe.js'), 'run', '--json', ...(jobs ? ['--jobs', jobs] : [])];
  const child = spawn('/usr/bin/time', ['-f', 'TIME %e %U %S %M', process.execPath, ...args], {
    cwd: dir,
    env: { ...process.env, CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const rootPid = child.pid!;
  const seenCpu = new Map<number, number>();
  const samples: Sample[] = [];
  const sample = () => {
    const all = processes();
    const tree = new Set<number>([rootPid]);
    // descendants: repeat until no new pid joins (ppid chains are short)
    for (let grew = true; grew; ) {
      grew = false;
      for (const [pid, [ppid]] of all) if (!tree.has(pid) && tree.has(ppid)) (tree.add(pid), (grew = true));
    }
    let rss = 0;
    for (const pid of tree) {
      const p = all.get(pid);
      if (!p) continue;
      seenCpu.set(pid, p[1]);
      rss += p[2];
    }
    let cpu = 0;
    for (const v of seenCpu.values()) cpu += v;
    samples.push({ t: Date.now(), cpu, rss });
  };
  const timer = setInterval(sample, 250);
  sample();

  const started = new Map<string, number>();
  const stages: { stage: string; start: number; end: number; status: string; items?: string }[] = [];
  const items = new Map<string, string>();
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  for await (const line of createInterface({ input: child.stdout })) {
    let e: { type: string; time: string; stage?: string; total?: number; toProcess?: number };
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    const t = Date.parse(e.time);
    if (e.type === 'stage-started') started.set(e.stage!, t);
    if (e.type === 'stage-items') items.set(e.stage!, `${e.toProcess}/${e.total}`);
    if (e.type === 'stage-finished' || e.type === 'stage-failed' || e.type === 'stage-restored') {
      stages.push({ stage: e.stage!, start: started.get(e.stage!) ?? t, end: t, status: e.type.slice(6), items: items.get(e.stage!) });
    }
  }
  const code: number = await new Promise((res) => child.on('close', (c) => res(c ?? 1)));
  clearInterval(timer);
  sample();
  const m = /TIME (\S+) (\S+) (\S+) (\S+)/.exec(stderr);
  if (code !== 0 || !m) throw new Error(`pipe run exited ${code}:\n${stderr.slice(-3000)}`);
  const [wall, user, sys, maxRss] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]) / 1024];

  /** CPU seconds and peak tree RSS between two times, from the samples. */
  const between = (a: number, b: number): [number, number] => {
    const at = (t: number) => {
      // CPU is cumulative: interpolate linearly between the samples around t
      let i = samples.findIndex((s) => s.t >= t);
      if (i < 0) return samples.at(-1)!.cpu;
      if (i === 0) return samples[0]!.cpu;
      const p = samples[i - 1]!;
      const s = samples[i]!;
      return p.cpu + ((s.cpu - p.cpu) * (t - p.t)) / Math.max(1, s.t - p.t);
    };
    let peak = 0;
    for (const s of samples) if (s.t >= a - 250 && s.t <= b + 250) peak = Math.max(peak, s.rss);
    return [at(b) - at(a), peak];
  };
  const fmtS = (s: number) => (s >= 60 ? `${Math.floor(s / 60)}m ${(s % 60).toFixed(0).padStart(2, '0')}s` : `${s.toFixed(1)} s`);
  const cores = os.cpus().length;
  console.log(`pipeline: ${path.relative(process.cwd(), file) || file} (copied alone into an empty folder); ${cores} cores; load average ${loadStart.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end`);
  console.log(`command: node bin/pipe.js run --json${jobs ? ` --jobs ${jobs}` : ''}; CPU = user + system of pipe and every process it started\n`);
  console.log('| stage | items run / total | started at | wall | CPU | CPU / wall (cores busy, of ' + cores + ') | peak RSS of the process tree |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const t0 = Math.min(...stages.map((s) => s.start), samples[0]!.t);
  let serial = 0;
  for (const s of stages.sort((a, b) => a.start - b.start)) {
    const w = (s.end - s.start) / 1000;
    serial += w;
    const [cpu, peak] = between(s.start, s.end);
    console.log(`| ${s.stage}${s.status === 'finished' ? '' : ` (${s.status})`} | ${s.items ?? '—'} | +${fmtS((s.start - t0) / 1000)} | ${fmtS(w)} | ${fmtS(cpu)} | ${w > 0 ? (cpu / w).toFixed(2) : '—'} | ${peak.toFixed(0)} MiB |`);
  }
  const peakTree = Math.max(...samples.map((s) => s.rss));
  console.log(`| **whole run** | ${stages.length} stages | | **${fmtS(wall)}** | ${fmtS(user + sys)} | **${((user + sys) / wall).toFixed(2)}** | ${peakTree.toFixed(0)} MiB (largest process ${maxRss.toFixed(0)} MiB) |`);
  console.log(`\nstage wall times add up to ${fmtS(serial)} in ${fmtS(wall)} of run: ${(serial / wall).toFixed(2)} stages ran at once on average.`);
} finally {
  if (keep) console.error(`kept ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}
