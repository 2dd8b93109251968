/**
 * An S3-compatible remote (AWS, MinIO, Ceph RGW) through @aws-sdk/client-s3.
 * Credentials come from the spec (the git-ignored local file), else the SDK's
 * usual chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or
 * `profile:`, ~/.aws/credentials, instance roles.
 *
 * A PUT becomes visible only once the whole body has arrived (S3 has no
 * partial objects), and is sent with `If-None-Match: *` where the server
 * supports it, so a concurrent push of the same object is a no-op.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { failure, FailureError } from '../failure.ts';
import type { RemoteSpec } from './config.ts';
import type { RemoteStore } from './types.ts';

type S3Spec = Extract<RemoteSpec, { type: 's3' }>;

/** Above this many keys one listing of the prefix is cheaper than a HEAD per key. */
const HEAD_LIMIT = 100;
/** Files above this size are streamed to S3 rather than read whole. */
const STREAM_ABOVE = 8 << 20;

function errorName(e: unknown): string {
  const x = e as { name?: string; Code?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = x.$metadata?.httpStatusCode;
  return [x.name ?? x.Code ?? x.code, status ? `HTTP ${status}` : '', x.message].filter(Boolean).join(': ');
}

function isNotFound(e: unknown): boolean {
  const x = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return x.name === 'NotFound' || x.name === 'NoSuchKey' || x.$metadata?.httpStatusCode === 404;
}

export async function openS3Remote(spec: S3Spec): Promise<RemoteStore> {
  const label = `${spec.name} (s3://${spec.bucket}${spec.prefix ? '/' + spec.prefix : ''}${spec.endpoint ? ' at ' + spec.endpoint : ''})`;
  const cfg: S3ClientConfig = {
    region: spec.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(spec.endpoint ? { endpoint: spec.endpoint } : {}),
    ...(spec.forcePathStyle !== undefined ? { forcePathStyle: spec.forcePathStyle } : spec.endpoint ? { forcePathStyle: true } : {}),
    ...(spec.profile ? { profile: spec.profile } : {}),
    ...(spec.accessKeyId && spec.secretAccessKey ? { credentials: { accessKeyId: spec.accessKeyId, secretAccessKey: spec.secretAccessKey } } : {}),
    // Plain checksums only when the operation needs them: MinIO, Ceph and emulators vary in what they accept.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  };
  // The SDK warns on every command that releases after January 2027 will need Node 22; the version
  // package-lock.json pins works on Node 20, and the warning is noise in pipe's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client(cfg);
  const key = (k: string) => (spec.prefix ? `${spec.prefix}/${k}` : k);
  const fail = (what: string, e: unknown): never => {
    if (e instanceof FailureError) throw e;
    throw new FailureError(
      failure('remote', `remote ${label}: ${what} failed: ${errorName(e)}`, {
        hint: 'check the bucket, endpoint and credentials (pipe.remotes.local.yaml, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)',
      }),
    );
  };
  try {
    await client.send(new HeadBucketCommand({ Bucket: spec.bucket }));
  } catch (e) {
    client.destroy();
    fail('connecting', e);
  }
  const jobs = spec.jobs ?? 8;

  const list = async (prefix: string): Promise<Set<string>> => {
    const out = new Set<string>();
    let token: string | undefined;
    const strip = spec.prefix ? spec.prefix.length + 1 : 0;
    do {
      const r = await client.send(new ListObjectsV2Command({ Bucket: spec.bucket, Prefix: key(prefix), ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of r.Contents ?? []) if (o.Key) out.add(o.Key.slice(strip));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  };

  return {
    label,
    jobs,
    async present(keys) {
      try {
        const limit = pLimit(jobs * 2);
        if (keys.length > HEAD_LIMIT) {
          // One listing per folder (objects/ab/, manifests/, runs/), in parallel: a few hundred
          // requests for any number of objects, and each listing stays small.
          const dirs = new Set(keys.map((k) => k.slice(0, k.lastIndexOf('/') + 1)));
          const all = new Set<string>();
          await Promise.all(
            [...dirs].map((d) =>
              limit(async () => {
                for (const k of await list(d)) all.add(k);
              }),
            ),
          );
          return new Set(keys.filter((k) => all.has(k)));
        }
        const have = new Set<string>();
        await Promise.all(
          keys.map((k) =>
            limit(async () => {
              try {
                await client.send(new HeadObjectCommand({ Bucket: spec.bucket, Key: key(k) }));
                have.add(k);
              } catch (e) {
                if (!isNotFound(e)) throw e;
              }
            }),
          ),
        );
        return have;
      } catch (e) {
        return fail('listing', e);
      }
    },
    async upload(batch, onDone) {
      for (const t of batch) {
        try {
          await client.send(
            // Small files (most objects, every manifest and record) in one buffer; big ones streamed with their length.
            new PutObjectCommand({
              Bucket: spec.bucket,
              Key: key(t.key),
              ...(t.size > STREAM_ABOVE ? { Body: createReadStream(t.local), ContentLength: t.size } : { Body: await readFile(t.local) }),
              IfNoneMatch: '*',
            }),
          );
        } catch (e) {
          const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          // 412: someone else pushed it first (same content: it is content-addressed).
          if (status !== 412) fail(`uploading ${t.key}`, e);
        }
        onDone(t);
      }
    },
    async download(batch, onDone) {
      for (const t of batch) {
        let body: Readable;
        try {
          const r = await client.send(new GetObjectCommand({ Bucket: spec.bucket, Key: key(t.key) }));
          body = r.Body as Readable;
        } catch (e) {
          if (isNotFound(e)) continue;
          return fail(`downloading ${t.key}`, e);
        }
        try {
          await pipeline(body, createWriteStream(t.local));
        } catch (e) {
          fail(`downloading ${t.key}`, e);
        }
        onDone(t);
      }
    },
    async close() {
      client.destroy();
    },
  };
}
