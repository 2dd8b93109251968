/**
 * The S3 remote through @aws-sdk/client-s3 against an S3 server on loopback.
 * STAND-IN: no real S3-compatible server installs here (MinIO, Ceph RGW and
 * moto are neither Debian packages nor npm packages), so the server is the
 * npm emulator `s3rver`, which speaks the S3 REST API (buckets, PUT, GET,
 * HEAD, ListObjectsV2, SigV4 auth headers) over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { TestRepo } from '../helpers/repo.ts';
import { useCleanups } from '../helpers/cleanup.ts';
import { roundTrip, walk } from './rig.ts';

const { track } = useCleanups();

// s3rver knows one key pair, S3RVER/S3RVER (its documented default), and refuses unknown access keys.
const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

describe('S3 remote (s3rver, an S3 emulator standing in for a real server)', () => {
  let server: { close(): Promise<void> };
  let endpoint: string;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-s3rver-'));
    const s = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: 'lab-bucket' }] });
    const addr = await s.run();
    server = s;
    endpoint = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });
  const yaml = (prefix: string, extra = '') => `remotes:\n  bucket: { url: "s3://lab-bucket/${prefix}", endpoint: "${endpoint}", region: us-east-1${extra} }\n`;

  it('push, pull, run --pull: a clone reproduces without recomputing', async () => {
    const { a, b, c } = await roundTrip(yaml('team/cache'), CREDS);
    [a, b, c].forEach(track);
    // The bucket holds the cache layout under the prefix (s3rver stores each key as a folder with the body in `._S3rver_object`).
    const stored = await walk(path.join(dir, 'lab-bucket', 'team', 'cache'));
    expect(stored.some((f) => f.startsWith('runs/'))).toBe(true);
    expect(stored.some((f) => f.startsWith('objects/'))).toBe(true);
  }, 180_000);

  it('bad credentials are a clear failure naming the remote; the local cache is unchanged', async () => {
    const a = track(await TestRepo.create({ 'pipeline.yaml': 'stages:\n  make:\n    cmd: echo x > out.txt\n    outs: [out.txt]\n', 'pipe.remotes.yaml': yaml('p') }));
    expect((await a.pipe(['run'])).code).toBe(0);
    const cache = await walk(a.path('cache'));
    const r = await a.pipe(['push'], { AWS_ACCESS_KEY_ID: 'NOBODY', AWS_SECRET_ACCESS_KEY: 'wrong' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/remote bucket \(s3:\/\/lab-bucket\/p at http:\/\/127\.0\.0\.1:\d+\): connecting failed: .*403/);
    const gone = await a.pipe(['pull'], CREDS);
    expect(gone.code).toBe(0); // nothing there yet: nothing pulled, the output is already as recorded
    const nobucket = await TestRepo.create({ 'pipeline.yaml': 'stages: {}\n', 'pipe.remotes.yaml': `remotes:\n  bucket: { url: "s3://no-such-bucket", endpoint: "${endpoint}" }\n` });
    track(nobucket);
    const nb = await nobucket.pipe(['push'], CREDS);
    expect(nb.code).toBe(1);
    expect(nb.stderr).toContain('remote bucket (s3://no-such-bucket');
    expect(await walk(a.path('cache'))).toEqual(cache);
  }, 60_000);
});
