/**
 * Per-item incrementality: a per-item stage over 1,000 files, full run vs
 * the rerun after changing one file. The stage simulates `workMs` of work per
 * image (default 50 ms, lighter than any real image stage here).
 *   node --import tsx bench/per-item.ts [files=1000] [workMs=50]
 */
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.argv[2] ?? 1000);
const workMs = Number(process.argv[3] ?? 50);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'pipe.js');
const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-item-'));
await mkdir(path.join(dir, 'images'), { recursive: true });
const payload = Buffer.alloc(64 * 1024, 7);
for (let i = 0; i < N; i++) await writeFile(path.join(dir, 'images', `img${i}.bin`), Buffer.concat([Buffer.from(String(i)), payload]));
await writeFile(
  path.join(dir, 'pipeline.yaml'),
  `stages:\n  work:\n    uses: bench-copy\n    params: { in: images, out: out, workMs: ${workMs} }\n`,
);
const env = { ...process.env, PIPE_STAGES_PATH: path.join(root, 'bench', 'stages'), CI: '1' };
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
const rerun = reruns.sort((a, b) => a - b)[1]!;
console.log(`| ${N} files, ${workMs} ms work each | full run | rerun after 1 changed (median of 3) | ratio | no-op run |`);
console.log('| --- | --- | --- | --- | --- |');
console.log(`| per-item stage, 2 workers | ${(full / 1000).toFixed(2)} s | ${(rerun / 1000).toFixed(2)} s | ${((100 * rerun) / full).toFixed(1)}% | ${(noop / 1000).toFixed(2)} s |`);
