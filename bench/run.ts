/**
 * `npm run bench [-- name...]`: runs the benchmarks one after another (never
 * in parallel: they would measure each other) and prints their tables, for
 * BENCHMARKS.md. Names: the keys of ALL below (slurm needs a cluster: scripts/slurm-up.sh; remote starts its own sshd
 * and S3 emulator on loopback).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ALL: Record<string, string[]> = {
  noop: ['noop.ts', '10000'],
  hash: ['hash.ts', '--mb', '1024'],
  // One changed file of 1,000, at 50 ms and 200 ms of work per item, in one table.
  'per-item': ['per-item.ts', '1000', '50,200'],
  synth: ['synth.ts', '64', '128'],
  image: ['image.ts', '16', '2'],
  // The production model and the bench net, each against its PyTorch twin at 1 and 2 threads.
  train: ['train-step.ts', '--model', 'both', '--size', '256', '--batch', '2', '--steps', '5', '--warmup', '3', '--infer-reps', '10', '--rounds', '3'],
  // The bench net on every tfjs setup, stock CPU included (over 20 minutes).
  'train-step': ['train-step.ts', '--model', 'bench', '--variants', 'wasm,cpu-fast,cpu-stock,torch-2t', '--size', '256', '--batch', '2', '--steps', '3'],
  slurm: ['slurm.ts', '5', '1000', '100', '5'],
  scale: ['scale.ts', '1000,10000,100000'],
  study: ['study.ts'],
  // Seconds per training step of the default model by frozen depth (ImageNet trunk), old default as yardstick.
  'trunk-step': ['trunk-step.ts'],
  // What evaluate's CRF costs per 128x128 image beside the inference it refines.
  crf: ['crf.ts', '128'],
  remote: ['remote.ts', '--files', '3000', '--models', '4', '--noop', '10000'],
};
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(ALL);
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const name of chosen) {
  const args = ALL[name];
  if (!args) {
    console.error(`unknown benchmark '${name}'; choose from ${Object.keys(ALL).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n## ${name}: node --import tsx bench/${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, args[0]!), ...args.slice(1)], { stdio: 'inherit' });
  if (r.status !== 0) console.log(`(${name} exited with ${r.status})`);
}
