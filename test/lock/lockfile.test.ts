import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { readLock, serializeLock, writeLock, type LockEntry, type LockFile } from '../../src/lock/lockfile.ts';
import type { Digest } from '../../src/hash/digest.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-lock-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const D = (s: string) => s as Digest;

function sample(): LockFile {
  const train: LockEntry = {
    key: D('1e10000000000000'), // looks like a float to YAML
    cmd: 'python scripts/train.py \\\n  --epochs 3 --out models/dark',
    code: D('1234567890123456'), // looks like an integer
    params: { lr: 0.001, sizes: [128, 256], opt: { name: 'adam', beta: [0.9, 0.999] }, flag: true, note: 'yes', none: null },
    deps: {
      'data/dark': { hash: D('00000000000000ab'), size: 123456, files: 40 },
      'data/bright': { hash: D('abcdef0123456789'), size: 99, files: 1 },
    },
    outs: { 'models/dark': { hash: D('fedcba9876543210'), size: 1048576, files: 3 }, 'metrics/dark.json': { hash: D('0f0f0f0f0f0f0f0f'), size: 88 } },
    durationMs: 61234,
    ranAt: '2025-01-02T03:04:05.678Z',
  };
  const synth: LockEntry = {
    key: D('aaaaaaaaaaaaaaaa'),
    uses: 'synth',
    code: D('bbbbbbbbbbbbbbbb'),
    params: { count: 10 },
    deps: {},
    outs: { 'data/synth': { hash: D('cccccccccccccccc'), size: 10, files: 10 } },
    durationMs: 5,
    ranAt: '2025-01-02T03:00:00.000Z',
  };
  return { version: 1, stages: { 'train@dark': train, synth } };
}

/** The same lock built with every map in reverse insertion order. */
function reversed(l: LockFile): LockFile {
  const rev = <T>(o: Record<string, T>, f: (v: T) => T = (v) => v): Record<string, T> =>
    Object.fromEntries(Object.entries(o).reverse().map(([k, v]) => [k, f(v)]));
  const deepRev = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(deepRev) : v && typeof v === 'object' ? rev(v as Record<string, unknown>, deepRev) : v;
  return {
    version: 1,
    stages: rev(l.stages, (e) => {
      const { ranAt, durationMs, outs, deps, params, code, key, ...rest } = e;
      return { ranAt, durationMs, outs: rev(outs), deps: rev(deps), params: deepRev(params) as LockEntry['params'], code, ...rest, key };
    }),
  };
}

describe('lock file', () => {
  it('round-trips through write and read', async () => {
    const file = path.join(dir, 'rt.lock');
    await writeLock(file, sample());
    const r = await readLock(file);
    expect(r).toEqual({ ok: true, value: sample() });
  });

  it('writes the same bytes whatever the insertion order', () => {
    const a = serializeLock(sample());
    const b = serializeLock(reversed(sample()));
    expect(b).toBe(a);
    expect(serializeLock(sample())).toBe(a);
  });

  it('is diff-friendly: header comment, sorted stages, fixed field order, block style', () => {
    const text = serializeLock(sample());
    expect(text.startsWith('# ')).toBe(true);
    const lines = text.split('\n');
    // Stages sorted by name.
    expect(lines.indexOf('  synth:')).toBeLessThan(lines.indexOf('  train@dark:'));
    // Fixed field order within an entry.
    const body = text.slice(text.indexOf('  train@dark:'));
    const order = ['key:', 'cmd:', 'code:', 'params:', 'deps:', 'outs:', 'durationMs:', 'ranAt:'].map((k) => body.indexOf(`\n    ${k}`));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    // No flow-style collections except empty ones.
    expect(lines.filter((l) => /[{[]/.test(l) && !/\{\}|\[\]/.test(l))).toEqual([]);
    // Deps sorted.
    expect(body.indexOf('data/bright:')).toBeLessThan(body.indexOf('data/dark:'));
    // Hashes that look like numbers stay strings.
    expect(parse(text).stages['train@dark'].key).toBe('1e10000000000000');
    expect(parse(text).stages['train@dark'].code).toBe('1234567890123456');
    // Long commands are never folded.
    expect(text).toContain('--epochs 3 --out models/dark');
  });

  it('reads a missing or empty file as an empty lock', async () => {
    expect(await readLock(path.join(dir, 'none.lock'))).toEqual({ ok: true, value: { version: 1, stages: {} } });
    const empty = path.join(dir, 'empty.lock');
    await writeFile(empty, '# only a comment\n');
    expect(await readLock(empty)).toEqual({ ok: true, value: { version: 1, stages: {} } });
  });

  it('reports invalid YAML as corrupt-lock with a position and a hint', async () => {
    const file = path.join(dir, 'conflict.lock');
    const text = serializeLock(sample()).replace('  synth:\n', '<<<<<<< HEAD\n  synth:\n');
    await writeFile(file, text);
    const r = await readLock(file);
    if (r.ok) throw new Error('expected a failure');
    expect(r.error.kind).toBe('corrupt-lock');
    expect(r.error.span?.file).toBe(file);
    expect(r.error.span?.line).toBeGreaterThan(2);
    expect(r.error.hint).toMatch(/git checkout pipeline\.lock/);
    expect(r.error.hint).toMatch(/delete it/);
  });

  it('reports a wrong shape with the position of the bad value', async () => {
    const file = path.join(dir, 'shape.lock');
    const text = serializeLock(sample()).replace('size: 123456', 'size: lots');
    await writeFile(file, text);
    const r = await readLock(file);
    if (r.ok) throw new Error('expected a failure');
    expect(r.error.kind).toBe('corrupt-lock');
    expect(r.error.message).toContain('stages.train@dark.deps.data/dark.size');
    const line = text.split('\n').findIndex((l) => l.includes('size: lots')) + 1;
    expect(r.error.span).toMatchObject({ file, line, col: line > 0 ? text.split('\n')[line - 1]!.indexOf('lots') + 1 : -1 });
  });

  it('rejects another version and a bad hash', async () => {
    const v2 = path.join(dir, 'v2.lock');
    await writeFile(v2, 'version: 2\nstages: {}\n');
    const r = await readLock(v2);
    expect(r.ok ? '' : r.error.message).toMatch(/version/);
    const bad = path.join(dir, 'badhash.lock');
    await writeFile(bad, serializeLock(sample()).replace('key: aaaaaaaaaaaaaaaa', 'key: nothex'));
    const r2 = await readLock(bad);
    expect(r2.ok ? '' : `${r2.error.message} @${r2.error.span?.line}`).toMatch(/stages\.synth\.key.*@\d+/);
    const missing = path.join(dir, 'missing.lock');
    await writeFile(missing, serializeLock(sample()).replace(/\n {4}ranAt: 2025-01-02T03:00:00.000Z/, ''));
    const r3 = await readLock(missing);
    expect(r3.ok ? '' : r3.error.message).toBe('missing.lock: stages.synth.ranAt: missing');
  });

  it('writes atomically, leaving no temp files and replacing the old lock', async () => {
    const sub = await mkdtemp(path.join(dir, 'atomic-'));
    const file = path.join(sub, 'pipeline.lock');
    await writeFile(file, 'old');
    await writeLock(file, sample());
    expect(await readdir(sub)).toEqual(['pipeline.lock']);
    expect(await readFile(file, 'utf8')).toBe(serializeLock(sample()));
  });
});
