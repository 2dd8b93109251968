/**
 * Hashing benchmark: hashPath (cold stat cache) against plain reading, `cat`
 * and `md5sum` over the same files, each timed several times (hyperfine for
 * the shell tools, the same count of in-process runs for hashPath), plus a warm
 * no-op hashPath over many small files.
 *
 *   node --import tsx bench/hash.ts [--mb 256] [--small 10000] [--keep]
 *
 * All figures are with the files in the page cache (the warm-up runs read
 * them): that isolates each tool's own overhead. Big folders are 1 MiB files;
 * small ones 1-8 KiB.
 */
import { mkdtemp, mkdir, writeFile, rm, utimes } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { hashPath } from '../src/hash/tree.ts';
import { StatCache } from '../src/hash/stat-cache.ts';
import { hashStats, initHasher, resetHashStats } from '../src/hash/digest.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const MB = arg('mb', 256);
const SMALL = arg('small', 10_000);
const keep = process.argv.includes('--keep');

async function makeFolder(root: string, count: number, sizeOf: (i: number) => number, perDir: number): Promise<number> {
  let total = 0;
  const old = new Date(Date.now() - 3600_000); // older than the stat cache's racy window
  for (let i = 0; i < count; i++) {
    const dir = path.join(root, `d${Math.floor(i / perDir)}`);
    if (i % perDir === 0) await mkdir(dir, { recursive: true });
    const buf = Buffer.allocUnsafe(sizeOf(i));
    randomFillSync(buf);
    const f = path.join(dir, `f${i}.bin`);
    await writeFile(f, buf);
    await utimes(f, old, old);
    total += buf.length;
  }
  return total;
}

/**
 * Mean and standard deviation (ms) of shell pipelines by hyperfine (warm-up 2, `runs` runs), side by side.
 * Every tool gets the whole file list through one `xargs` (a few processes for 10,000 files, not one per file).
 */
function hyperfine(cmds: string[], runs: number, cwd: string): { mean: number; sd: number }[] {
  const json = path.join(cwd, 'hyperfine.json');
  const r = spawnSync('hyperfine', ['--style', 'none', '--warmup', '2', '--runs', String(runs), '--export-json', json, ...cmds], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`hyperfine exited ${r.status}`);
  const out = JSON.parse(readFileSync(json, 'utf8')) as { results: { mean: number; stddev: number | null }[] };
  return out.results.map((x) => ({ mean: x.mean * 1000, sd: (x.stddev ?? 0) * 1000 }));
}

const rate = (bytes: number, t: { mean: number; sd: number }): string => {
  const r = bytes / 1e6 / (t.mean / 1000);
  return `${r.toFixed(0)} ± ${((r * t.sd) / t.mean).toFixed(0)} MB/s`;
};

async function main(): Promise<void> {
  await initHasher();
  const root = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-hash-'));
  try {
    const big = path.join(root, 'big');
    const small = path.join(root, 'small');
    process.stdout.write(`creating ${MB} x 1 MiB files and ${SMALL} small files in ${root} ...\n`);
    const bigBytes = await makeFolder(big, MB, () => 1 << 20, 64);
    const smallBytes = await makeFolder(small, SMALL, (i) => 1024 + ((i * 2654435761) % 7168), 1000);

    const runs = 5;
    const rows: string[] = [];
    for (const [name, dir, bytes] of [
      [`${MB} x 1 MiB files`, big, bigBytes],
      [`${SMALL.toLocaleString('en')} files of 1–8 KiB`, small, smallBytes],
    ] as const) {
      const files = `find ${dir} -type f -print0 | xargs -0`;
      // `head -q -c 1G` is the plain-read floor (one buffer for all files); GNU cat 9.1 maps and unmaps a new
      // 128 KiB buffer for every file, which costs more than reading a small file (strace: ~67 us per munmap).
      const [head, cat, md5] = hyperfine([`${files} head -q -c 1G > /dev/null`, `${files} cat > /dev/null`, `${files} md5sum > /dev/null`], runs, root);
      // hashPath cold (an empty stat cache each time), in this process, the same number of runs
      const times: number[] = [];
      for (let i = 0; i < runs + 1; i++) {
        resetHashStats();
        const t = performance.now();
        const h = await hashPath(dir, { statCache: StatCache.empty(path.join(root, `sc${i}`)) });
        if (i > 0) times.push(performance.now() - t); // the first is the warm-up, as for hyperfine
        if (!h || hashStats.bytesRead !== bytes) throw new Error('hashPath did not read every byte');
      }
      const mean = times.reduce((x, y) => x + y, 0) / times.length;
      const ours = { mean, sd: Math.sqrt(times.reduce((x, y) => x + (y - mean) ** 2, 0) / (times.length - 1)) };
      rows.push(`| ${name} | ${rate(bytes, head!)} | ${rate(bytes, cat!)} | ${rate(bytes, md5!)} | ${rate(bytes, ours)} | ${(head!.mean / ours.mean).toFixed(2)}x |`);
    }
    process.stdout.write(`\nfiles in the page cache; every figure the mean ± sd of ${runs} runs after warm-up; load average ${os.loadavg()[0]!.toFixed(1)}\n\n`);
    process.stdout.write('| folder | plain read (`xargs head -c`) | `xargs cat` | `xargs md5sum` (what DVC uses) | `hashPath`, cold stat cache (16 reads at a time, xxhash64) | hashPath / plain read |\n');
    process.stdout.write('| --- | --- | --- | --- | --- | --- |\n');
    for (const r of rows) process.stdout.write(r + '\n');

    const cache = StatCache.empty(path.join(root, 'stat-cache'));
    await hashPath(small, { statCache: cache });
    await cache.save();
    // Best of 3, wall and CPU time: on a shared machine the minimum is the honest figure.
    let loadMs = Infinity;
    let warm = Infinity;
    let warmCpu = Infinity;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const loaded = await StatCache.load(path.join(root, 'stat-cache'));
      loadMs = Math.min(loadMs, performance.now() - t0);
      resetHashStats();
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      await hashPath(small, { statCache: loaded });
      const cpu = process.cpuUsage(c1);
      warm = Math.min(warm, performance.now() - t1);
      warmCpu = Math.min(warmCpu, (cpu.user + cpu.system) / 1000);
      if (hashStats.filesRead !== 0) throw new Error(`warm no-op read ${hashStats.filesRead} files`);
    }
    process.stdout.write(
      `\nwarm no-op hashPath, ${SMALL} files: ${warm.toFixed(0)} ms (${warmCpu.toFixed(0)} ms CPU, 0 files read); stat cache load: ${loadMs.toFixed(1)} ms\n`,
    );
  } finally {
    if (!keep) await rm(root, { recursive: true, force: true });
  }
}

await main();
