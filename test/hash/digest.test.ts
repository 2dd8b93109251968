import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import xxhash from 'xxhash-wasm';
import {
  CHUNK_BYTES,
  canonicalEncoding,
  hashBytes,
  hashFile,
  hashFileSync,
  hashRecord,
  hashStats,
  initHasher,
  isDigest,
  resetHashStats,
} from '../../src/hash/digest.ts';

let dir: string;
beforeAll(async () => {
  await initHasher();
  dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-digest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hashBytes', () => {
  it('is xxhash64 with seed 0 (reference vectors)', () => {
    // Published XXH64 test vectors.
    expect(hashBytes('')).toBe('ef46db3751d8e999');
    expect(hashBytes('a')).toBe('d24ec4f1a98c6e5b');
    expect(hashBytes('abc')).toBe('44bc2cf5ad770999');
  });

  it('hashes a string as its UTF-8 bytes', () => {
    const s = 'héllo wörld ✓ 𝄞';
    expect(hashBytes(s)).toBe(hashBytes(Buffer.from(s, 'utf8')));
    expect(isDigest(hashBytes(s))).toBe(true);
  });

  it('feeds big inputs in chunks with the same result as one-shot xxhash64', async () => {
    const big = randomBytes(5 * CHUNK_BYTES + 123);
    const ref = (await xxhash()).h64Raw(big).toString(16).padStart(16, '0');
    expect(hashBytes(big)).toBe(ref);
    expect(hashBytes(big)).not.toBe(hashBytes(big.subarray(1)));
  });
});

describe('hashFile', () => {
  it.each([0, 1, 1000, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 5 * CHUNK_BYTES + 17])(
    'equals hashBytes of the content for %i bytes (async and sync)',
    async (n) => {
      const data = randomBytes(n);
      const f = path.join(dir, `f${n}`);
      await writeFile(f, data);
      const want = hashBytes(data);
      expect(await hashFile(f)).toBe(want);
      expect(hashFileSync(f)).toBe(want);
    },
  );

  it('hashes many files concurrently without mixing them up', async () => {
    const datas = Array.from({ length: 24 }, (_, i) => randomBytes(CHUNK_BYTES + i * 4099));
    await Promise.all(datas.map((d, i) => writeFile(path.join(dir, `c${i}`), d)));
    const got = await Promise.all(datas.map((_, i) => hashFile(path.join(dir, `c${i}`))));
    expect(got).toEqual(datas.map((d) => hashBytes(d)));
  });

  it('counts files and bytes read', async () => {
    const f = path.join(dir, 'counted');
    await writeFile(f, 'x'.repeat(777));
    resetHashStats();
    await hashFile(f);
    hashFileSync(f);
    expect(hashStats).toEqual({ filesRead: 2, bytesRead: 1554 });
  });

  it('rejects with the fs error for a missing file', async () => {
    await expect(hashFile(path.join(dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('hashRecord', () => {
  it('ignores object key order at every depth', () => {
    const a = { x: 1, y: { b: [1, 2, { q: 'r', p: null }], a: 'z' } };
    const b = { y: { a: 'z', b: [1, 2, { p: null, q: 'r' }] }, x: 1 };
    expect(hashRecord(a)).toBe(hashRecord(b));
  });

  it('keeps array order', () => {
    expect(hashRecord([1, 2])).not.toBe(hashRecord([2, 1]));
  });

  it('never confuses joined strings, types or nesting', () => {
    const values: unknown[] = [
      ['ab', 'c'],
      ['a', 'bc'],
      ['abc'],
      'abc',
      1,
      '1',
      true,
      'true',
      null,
      'null',
      undefined,
      [],
      {},
      [[]],
      [null],
      [undefined],
      [[1], 2],
      [1, [2]],
      { a: 'b' },
      { ab: '' },
      { a: { b: 1 } },
      { 'a.b': 1 },
      0,
      1.5,
      1n,
      '',
      new Uint8Array([1]),
      new Date(0),
      'd1;',
    ];
    const digests = values.map((v) => hashRecord(v));
    expect(new Set(digests).size).toBe(values.length);
  });

  it('treats an undefined object field as absent (as JSON does)', () => {
    expect(hashRecord({ a: 1, b: undefined })).toBe(hashRecord({ a: 1 }));
    expect(hashRecord({ a: 1, b: null })).not.toBe(hashRecord({ a: 1 }));
  });

  it('is stable across calls and equals a JSON round trip of plain data', () => {
    const v = { stage: 'train', params: { lr: 0.001, layers: [16, 32], name: 'ünï' }, flag: false };
    expect(hashRecord(v)).toBe(hashRecord(JSON.parse(JSON.stringify(v))));
  });

  it('sorts Map and Set entries', () => {
    expect(hashRecord(new Map([['a', 1], ['b', 2]]))).toBe(hashRecord(new Map([['b', 2], ['a', 1]])));
    expect(hashRecord(new Set([1, 2]))).toBe(hashRecord(new Set([2, 1])));
    expect(hashRecord(new Set([1, 2]))).not.toBe(hashRecord([1, 2]));
  });

  it('length-prefixes strings in its encoding', () => {
    expect(canonicalEncoding(['ab', 'c'])).toBe('[2:s2:abs1:c]');
  });

  it('throws on functions and cycles (caller bugs)', () => {
    expect(() => hashRecord({ f: () => 1 })).toThrow(TypeError);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => hashRecord(cyc)).toThrow(TypeError);
  });
});
