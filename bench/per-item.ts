/**
 * Per-item incrementality: a per-item stage over 1,000 files, full run vs
 * the rerun after changing one file. The stage simulates `workMs` of work per
 * image: 50 ms is lighter than any real image stage here, 200 ms about what `deglare` costs on the study's
 * 640x480 photos. Several comma-separated workloads run one after another and print one table.
 *   node --import tsx bench/per-item.ts [files=1000] [workMs=50,200]
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.argv[2] ?? 1000);
const works = (process.argv[3] ?? '50,200').split(',').map(Number);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'pipe.js');
const env = { ...process.env, PIPE_STAGES_PATH: path.join(root, 'bench', 'stages'), CI: '1' };
const payload = Buffer.alloc(64 * 1024, 7);

/** Full run, the median of three reruns after one changed file, and a no-op run, in ms, in a fresh folder. */
async function measure(workMs: number): Promise<{ full: number; rerun: number; noop: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-item-'));
  try {
    await mkdir(path.join(dir, 'images'), { recursive: true });
    for (let i = 0; i < N; i++) await writeFile(path.join(dir, 'images', `img${i}.bin`), Buffer.concat([Buffer.from(String(i)), payload]));
    await writeFile(path.join(dir, 'pipeline.yaml'), `stages:\n  work:\n    uses: bench-copy\n    params: { in: images, out: out, workMs: ${workMs} }\n`);
    const time = (args: string[]) => {
      const t = process.hrtime.bigint();
      execFileSync(process.execPath, [bin, ...args], { cwd: dir, env, stdio: 'ignore' });
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const full = time(['run']);
    const reruns: number[] = [];
    for (let k = 0; k < 3; k++) {
      await writeFile(path.join(dir, 'images', `img${k * 7}.bin`), `changed ${k}`);
      reruns.push(time(['run']));
    }
    const noop = time(['run']);
    return { full, rerun: reruns.sort((a, b) => a - b)[1]!, noop };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`machine: ${os.cpus().length} cores, load average at start ${os.loadavg()[0]!.toFixed(1)}; each figure is one \`pipe run\` process, start-up included`);
const rows: string[] = [];
for (const workMs of works) {
  const { full, rerun, noop } = await measure(workMs);
  rows.push(`| ${workMs} ms | ${(full / 1000).toFixed(2)} s | ${(rerun / 1000).toFixed(2)} s | ${((100 * rerun) / full).toFixed(1)}% | ${(noop / 1000).toFixed(2)} s |`);
}
console.log(`load average at end ${os.loadavg()[0]!.toFixed(1)}\n`);
console.log(`| ${N} files, work per item (2 worker threads) | full run | rerun after 1 changed (median of 3) | rerun / full | no-op run |`);
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
