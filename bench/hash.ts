/**
 * Hashing benchmark: hashPath (cold stat cache) against `cat` and `md5sum`
 * over the same files, plus a warm no-op hashPath over many small files.
 *
 *   node --import tsx bench/hash.ts [--mb 256] [--small 10000] [--keep]
 *
 * All figures are with the files in the page cache (cat runs first to warm
 * it): that isolates pipe's own overhead, which is what this measures. Big
 * folders are 1 MiB files; small ones 1-8 KiB.
 */
import { mkdtemp, mkdir, writeFile, rm, utimes } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
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

function timeShell(cmd: string): number {
  const t = performance.now();
  const r = spawnSync('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}`);
  return performance.now() - t;
}

const rate = (bytes: number, ms: number): string => `${((bytes / 1e6) / (ms / 1000)).toFixed(0).padStart(6)} MB/s`;

async function main(): Promise<void> {
  await initHasher();
  const root = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-hash-'));
  try {
    const big = path.join(root, 'big');
    const small = path.join(root, 'small');
    process.stdout.write(`creating ${MB} x 1 MiB files and ${SMALL} small files in ${root} ...\n`);
    const bigBytes = await makeFolder(big, MB, () => 1 << 20, 64);
    const smallBytes = await makeFolder(small, SMALL, (i) => 1024 + ((i * 2654435761) % 7168), 1000);

    process.stdout.write(`\n${'folder'.padEnd(22)}${'cat'.padStart(14)}${'md5sum'.padStart(14)}${'hashPath cold'.padStart(16)}  ratio to cat\n`);
    for (const [name, dir, bytes] of [
      ['big (1 MiB files)', big, bigBytes],
      ['small (1-8 KiB files)', small, smallBytes],
    ] as const) {
      const files = `find ${dir} -type f -print0 | xargs -0`;
      timeShell(`${files} cat > /dev/null`); // warm the page cache
      const cat = timeShell(`${files} cat > /dev/null`);
      const md5 = timeShell(`${files} md5sum > /dev/null`);
      resetHashStats();
      const t = performance.now();
      const h = await hashPath(dir, { statCache: StatCache.empty(path.join(root, 'sc')) });
      const cold = performance.now() - t;
      if (!h || hashStats.bytesRead !== bytes) throw new Error('hashPath did not read every byte');
      process.stdout.write(
        `${name.padEnd(22)}${rate(bytes, cat).padStart(14)}${rate(bytes, md5).padStart(14)}${rate(bytes, cold).padStart(16)}  ${(cat / cold).toFixed(2)}\n`,
      );
    }

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
