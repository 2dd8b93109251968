/**
 * `npm run bench -- remote`: `pipe push` and `pipe pull` of a study-sized
 * cache on each kind of remote, side by side, and a no-op push (nothing to
 * send) over 10,000 objects.
 *
 * Remotes, all on this machine: a folder (what a NAS mount is to pipe), a
 * real OpenSSH server on loopback (test/remote/sshd.ts), and s3rver, an S3
 * emulator standing in for S3/MinIO (none installs here). Loopback hides
 * network latency; the figures measure pipe's own work and round trips.
 *
 * The cache is shaped like the default study's (images, masks, predictions,
 * four model files): `--files N` small files of 2-24 KB and `--models M`
 * files of 6 MB, random bytes so nothing compresses.
 *
 * Usage: node --import tsx bench/remote.ts [--files 3000] [--models 4] [--noop 10000]
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import S3rver from 's3rver';
import { startSshd, sshRemoteYaml } from '../test/remote/sshd.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const PIPE = path.join(here, '..', 'bin', 'pipe.js');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const FILES = arg('files', 3000);
const MODELS = arg('models', 4);
const NOOP = arg('noop', 10000);
const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

/** Runs pipe and returns its wall time in seconds. Asynchronously: s3rver runs in this process and must keep serving. */
async function pipe(cwd: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [PIPE, ...args], { cwd, env: { ...process.env, CI: '1', NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const s = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`pipe ${args.join(' ')} in ${cwd} failed:\n${out}`);
  return s;
}

const GEN = (files: number, models: number) => `
const fs = require('fs'), crypto = require('crypto');
let seed = 7; const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
for (const d of ['data/images', 'data/masks', 'results/pred']) fs.mkdirSync(d, { recursive: true });
for (let i = 0; i < ${files}; i++) {
  const dir = ['data/images', 'data/masks', 'results/pred'][i % 3];
  fs.writeFileSync(dir + '/f' + i + '.bin', crypto.randomBytes(2048 + Math.floor(rnd() * 22528)));
}
fs.mkdirSync('models', { recursive: true });
for (let m = 0; m < ${models}; m++) fs.writeFileSync('models/model' + m + '.bin', crypto.randomBytes(6 << 20));
`;

async function makeRepo(files: number, models: number, remotes: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-remote-'));
  await writeFile(path.join(dir, 'gen.js'), GEN(files, models));
  const outs = models ? '[data, results, models]' : '[data, results]';
  await writeFile(path.join(dir, 'pipeline.yaml'), `stages:\n  study:\n    cmd: node gen.js\n    outs: ${outs}\n`);
  await writeFile(path.join(dir, 'pipe.remotes.yaml'), remotes);
  await pipe(dir, ['run']);
  return dir;
}

async function cloneOf(a: string): Promise<string> {
  const b = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-clone-'));
  for (const f of ['pipeline.yaml', 'pipeline.lock', 'pipe.remotes.yaml', 'gen.js']) await copyFile(path.join(a, f), path.join(b, f));
  return b;
}

/** Object files in a repo's cache and their total size (file sizes, not disk blocks). */
function du(dir: string): { bytes: number; files: number } {
  const r = spawnSync('find', [`${dir}/cache/objects`, '-type', 'f', '-printf', '%s\n'], { encoding: 'utf8' });
  const sizes = r.stdout.trim().split('\n').filter(Boolean).map(Number);
  return { files: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0) };
}

const tmp: string[] = [];
const sshd = await startSshd();
const s3dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-s3-'));
const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir, configureBuckets: [{ name: 'bench' }] });
const s3addr = await s3.run();
try {
  const remotes: { name: string; yaml: (dir: string) => string; env: Record<string, string> }[] = [
    { name: 'folder', yaml: (d) => `remotes:\n  r: { url: ${d} }\n`, env: {} },
    { name: 'ssh (OpenSSH, loopback)', yaml: (d) => sshRemoteYaml(sshd, d).replace('  lab:', '  r:'), env: {} },
    { name: 's3 (s3rver stand-in)', yaml: (d) => `remotes:\n  r: { url: "s3://bench/${path.basename(d)}", endpoint: "http://127.0.0.1:${s3addr.port}" }\n`, env: CREDS },
  ];
  const rows: string[][] = [];
  for (const r of remotes) {
    const rdir = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-rdir-'));
    tmp.push(rdir);
    const a = await makeRepo(FILES, MODELS, r.yaml(rdir));
    tmp.push(a);
    const size = du(a);
    const push = await pipe(a, ['push'], r.env);
    const again = await pipe(a, ['push'], r.env);
    const b = await cloneOf(a);
    tmp.push(b);
    const pull = await pipe(b, ['pull'], r.env);
    const mb = size.bytes / 2 ** 20;
    rows.push([r.name, `${mb.toFixed(0)} MB, ${size.files} objects`, `${push.toFixed(1)} s (${(mb / push).toFixed(0)} MB/s)`, `${pull.toFixed(1)} s (${(mb / pull).toFixed(0)} MB/s)`, `${again.toFixed(2)} s`]);
    console.error(`${r.name}: done`);
  }
  console.log(`\nstudy-sized cache: ${FILES} files of 2-24 KB + ${MODELS} x 6 MB (wall time of the whole command, process start included)`);
  console.log(table(['remote', 'cache', 'push', 'pull (fresh clone)', 'second push (no-op)'], rows));

  const rows2: string[][] = [];
  for (const r of remotes) {
    const rdir = await mkdtemp(path.join(os.tmpdir(), 'pipe-bench-rdir-'));
    tmp.push(rdir);
    const a = await makeRepo(NOOP, 0, r.yaml(rdir));
    tmp.push(a);
    const first = await pipe(a, ['push'], r.env);
    const noop = await pipe(a, ['push'], r.env);
    rows2.push([r.name, `${du(a).files}`, `${first.toFixed(1)} s`, `${noop.toFixed(2)} s`]);
    console.error(`${r.name}: no-op done`);
  }
  console.log(`\nno-op push over ${NOOP} objects`);
  console.log(table(['remote', 'objects', 'first push', 'no-op push'], rows2));
} finally {
  await sshd.stop();
  await s3.close();
  for (const d of [...tmp, s3dir]) await rm(d, { recursive: true, force: true });
}

function table(head: string[], rows: string[][]): string {
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(w[i]!)).join(' | ') + ' |';
  return [line(head), '| ' + w.map((n) => '-'.repeat(n)).join(' | ') + ' |', ...rows.map(line)].join('\n');
}
