/**
 * Content hashing: every digest in pipe is xxhash64 (xxhash-wasm), printed as
 * 16 lowercase hex characters. Records are hashed through one canonical typed
 * encoding (wireit's fingerprint habit), never by joining strings.
 */
import { open } from 'node:fs/promises';
import { closeSync, openSync, readSync } from 'node:fs';
import xxhash, { type XXHashAPI } from 'xxhash-wasm';

/** 16 lowercase hex chars of an xxhash64. Branded so a path or key cannot pass for one. */
export type Digest = string & { readonly __brand: 'Digest' };

const DIGEST_RE = /^[0-9a-f]{16}$/;

/** true when `s` has the shape of a Digest (16 lowercase hex chars). */
export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && DIGEST_RE.test(s);
}

let api: XXHashAPI | undefined;
let loading: Promise<void> | undefined;

/** Loads the wasm hasher once; call (and await) before any synchronous hashing. Idempotent. */
export function initHasher(): Promise<void> {
  if (api) return Promise.resolve();
  loading ??= xxhash().then((a) => {
    api = a;
  });
  return loading;
}

function hasher(): XXHashAPI {
  if (!api) throw new Error('hash/digest: initHasher() must be awaited before hashing');
  return api;
}

function toDigest(n: bigint): Digest {
  return n.toString(16).padStart(16, '0') as Digest;
}

/**
 * Read size for hashFile and the chunk size for large in-memory inputs. Large
 * reads keep the per-syscall and per-promise overhead small next to the I/O.
 */
export const CHUNK_BYTES = 1 << 20;

/**
 * xxhash-wasm copies its whole input into wasm memory, which never shrinks;
 * feeding big buffers in chunks keeps that memory at one chunk.
 */
const ONE_SHOT_MAX = 4 * CHUNK_BYTES;

/** Hash of bytes, or of a string's UTF-8 bytes (so hashBytes('a') === hashBytes(Buffer.from('a'))). */
export function hashBytes(data: Uint8Array | string): Digest {
  const h = hasher();
  if (typeof data === 'string') {
    if (data.length * 3 <= ONE_SHOT_MAX) return toDigest(h.h64(data));
    data = Buffer.from(data, 'utf8');
  }
  if (data.byteLength <= ONE_SHOT_MAX) return toDigest(h.h64Raw(data));
  const s = h.create64();
  for (let i = 0; i < data.byteLength; i += CHUNK_BYTES) s.update(data.subarray(i, i + CHUNK_BYTES));
  return toDigest(s.digest());
}

/**
 * Counts of files actually read by hashFile since the last reset. Lets tests
 * (and `pipe` debug output) prove that unchanged files are only stat'ed.
 */
export const hashStats = { filesRead: 0, bytesRead: 0 };

export function resetHashStats(): void {
  hashStats.filesRead = 0;
  hashStats.bytesRead = 0;
}

// Reused read buffers: with 16 files in flight this caps read memory at ~16 MiB
// and spares the allocator a 1 MiB buffer per file.
const freeBuffers: Buffer[] = [];
const MAX_FREE_BUFFERS = 32;

function takeBuffer(): Buffer {
  return freeBuffers.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
}

function giveBuffer(b: Buffer): void {
  if (freeBuffers.length < MAX_FREE_BUFFERS) freeBuffers.push(b);
}

/**
 * Streams a file through xxhash64 in 1 MiB reads: constant memory whatever
 * the file size. Throws the fs error (ENOENT, EACCES, EISDIR) for the caller
 * to turn into a Failure.
 */
export async function hashFile(abs: string): Promise<Digest> {
  await initHasher();
  const fh = await open(abs, 'r');
  const buf = takeBuffer();
  try {
    hashStats.filesRead++;
    let n = (await fh.read(buf, 0, CHUNK_BYTES, null)).bytesRead;
    // Most files fit in one read: hash it one-shot, skipping the streaming state copies.
    if (n < CHUNK_BYTES) {
      const second = n === 0 ? 0 : (await fh.read(buf, n, CHUNK_BYTES - n, null)).bytesRead;
      if (second === 0) {
        hashStats.bytesRead += n;
        return toDigest(hasher().h64Raw(buf.subarray(0, n)));
      }
      n += second;
    }
    const s = hasher().create64();
    while (n > 0) {
      hashStats.bytesRead += n;
      s.update(buf.subarray(0, n));
      n = (await fh.read(buf, 0, CHUNK_BYTES, null)).bytesRead;
    }
    return toDigest(s.digest());
  } finally {
    giveBuffer(buf);
    await fh.close();
  }
}

// One buffer for the synchronous path: JS is single-threaded, so it is never shared.
let syncBuffer: Buffer | undefined;

/**
 * Synchronous hashFile, for small files: on a busy 2-core machine a blocking
 * read of a few KiB costs a fraction of the thread-pool round trips of the
 * async API (about 5x faster over 10,000 small files). Callers keep the event
 * loop responsive by yielding between batches (see hash/tree.ts).
 */
export function hashFileSync(abs: string): Digest {
  const h = hasher();
  const buf = (syncBuffer ??= Buffer.allocUnsafeSlow(CHUNK_BYTES));
  const fd = openSync(abs, 'r');
  try {
    hashStats.filesRead++;
    let n = readSync(fd, buf, 0, CHUNK_BYTES, null);
    if (n < CHUNK_BYTES) {
      const second = n === 0 ? 0 : readSync(fd, buf, n, CHUNK_BYTES - n, null);
      if (second === 0) {
        hashStats.bytesRead += n;
        return toDigest(h.h64Raw(buf.subarray(0, n)));
      }
      n += second;
    }
    const s = h.create64();
    while (n > 0) {
      hashStats.bytesRead += n;
      s.update(buf.subarray(0, n));
      n = readSync(fd, buf, 0, CHUNK_BYTES, null);
    }
    return toDigest(s.digest());
  } finally {
    closeSync(fd);
  }
}

/**
 * Files up to this size are cheaper to hash with blocking reads (see
 * hashFileSync); bigger ones stream asynchronously so reads overlap.
 */
export const SYNC_READ_MAX = 256 * 1024;

/** hashFileSync for a small file (by its known size), hashFile otherwise. */
export async function hashFileSized(abs: string, size: number): Promise<Digest> {
  await initHasher();
  return size > SYNC_READ_MAX ? hashFile(abs) : hashFileSync(abs);
}

/**
 * Hash of any JSON-like value through a canonical, typed, self-delimiting
 * encoding: object keys sorted, arrays in order, every scalar tagged with its
 * type and every string length-prefixed. So equal values hash equal whatever
 * the key insertion order, and `["ab","c"]`, `["a","bc"]`, `1` and `"1"` all
 * differ. Object keys whose value is `undefined` are treated as absent (as in
 * JSON, so a record hashes the same before and after a round trip through the
 * lock file); `undefined` elsewhere and `null` are distinct values. Also
 * accepts bigint, Date, Uint8Array, Map and Set. Throws on functions,
 * symbols and cycles (or absurd nesting): those are bugs in the caller.
 */
export function hashRecord(value: unknown): Digest {
  return hashBytes(canonicalEncoding(value));
}

/**
 * Deeper than this is treated as a cycle: records are shallow, and a depth
 * bound costs nothing per node where a `seen` set costs a lot on big manifests.
 */
const MAX_DEPTH = 200;

/** The canonical encoding hashRecord hashes (exported for tests and debugging). */
export function canonicalEncoding(value: unknown): string {
  return encode(value, 0);
}

function encodeString(s: string): string {
  return 's' + s.length + ':' + s;
}

// String concatenation (V8 ropes) measured ~50x faster than pushing parts into an array here.
function encode(v: unknown, depth: number): string {
  switch (typeof v) {
    case 'undefined':
      return 'u';
    case 'boolean':
      return v ? 'T' : 'F';
    case 'number':
      // String() round-trips every double; -0 and 0 deliberately encode the same.
      return 'd' + String(v) + ';';
    case 'bigint':
      return 'i' + v.toString() + ';';
    case 'string':
      return encodeString(v);
    case 'function':
    case 'symbol':
      throw new TypeError(`hashRecord: cannot hash a ${typeof v}`);
    case 'object':
      break;
  }
  if (v === null) return 'n';
  if (depth >= MAX_DEPTH) throw new TypeError('hashRecord: value nested too deeply (a cycle?)');
  const d = depth + 1;
  if (Array.isArray(v)) {
    let out = '[' + v.length + ':';
    for (let i = 0; i < v.length; i++) out += encode(v[i], d);
    return out + ']';
  }
  if (v instanceof Uint8Array) {
    return 'b' + v.byteLength + ':' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  }
  if (v instanceof Date) return 'D' + v.getTime() + ';';
  if (v instanceof Map || v instanceof Set) {
    // Entries sorted by their own encoding, so insertion order never matters.
    const entries = [...v].map((e) => encode(e, d)).sort();
    return (v instanceof Map ? 'M' : 'S') + entries.length + ':' + entries.join('') + '.';
  }
  const rec = v as Record<string, unknown>;
  const keys = Object.keys(rec)
    .filter((k) => rec[k] !== undefined)
    .sort();
  let out = '{' + keys.length + ':';
  for (const k of keys) out += encodeString(k) + encode(rec[k], d);
  return out + '}';
}
