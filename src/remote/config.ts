/**
 * Remotes: `pipe.remotes.yaml` next to pipeline.yaml (committed: where the
 * team's cache lives) and `pipe.remotes.local.yaml` (git-ignored: your
 * credentials, your mount point), merged field by field, the local file
 * winning.
 *
 *   default: nas
 *   remotes:
 *     nas:    { url: /mnt/lab/pipe-cache }
 *     lab:    { url: ssh://me@gpu-box/srv/pipe-cache }
 *     bucket: { url: s3://my-bucket/pipe, region: eu-west-1 }
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { failure, type Failure } from '../failure.ts';
import { err, ok, type Result } from '../util/result.ts';

export const REMOTES_FILE = 'pipe.remotes.yaml';
export const REMOTES_LOCAL_FILE = 'pipe.remotes.local.yaml';

const remoteFields = z
  .object({
    url: z.string().min(1),
    /** Parallel transfers (default 8 for S3 and folders, 4 sftp sessions for SSH). */
    jobs: z.number().int().min(1).max(64).optional(),
    // ssh
    port: z.number().int().min(1).max(65535).optional(),
    identityFile: z.string().optional(),
    /** An ssh_config file to use instead of ~/.ssh/config (`ssh -F`). */
    sshConfig: z.string().optional(),
    /** Extra `ssh -o Key=Value` options. */
    options: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    // s3
    endpoint: z.string().optional(),
    region: z.string().optional(),
    profile: z.string().optional(),
    forcePathStyle: z.boolean().optional(),
    accessKeyId: z.string().optional(),
    secretAccessKey: z.string().optional(),
  })
  .strict();

const fileSchema = z
  .object({
    default: z.string().optional(),
    remotes: z.record(z.string(), remoteFields.partial()).optional(),
  })
  .strict();

export type RemoteFields = z.infer<typeof remoteFields>;

export type RemoteSpec =
  | ({ type: 'fs'; name: string; dir: string } & RemoteFields)
  | ({ type: 'ssh'; name: string; host: string; user?: string; dir: string } & RemoteFields)
  | ({ type: 's3'; name: string; bucket: string; prefix: string } & RemoteFields);

export interface RemotesConfig {
  default?: string;
  remotes: Map<string, RemoteSpec>;
  /** The files that were read (for messages). */
  files: string[];
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** A remote's `url` as one of the three kinds; relative folder paths are taken from the repo root. */
export function parseRemoteUrl(name: string, f: RemoteFields, root: string, source: string): Result<RemoteSpec, Failure> {
  const url = f.url;
  const bad = (why: string) =>
    err(
      failure('usage', `${source}: remote ${name}: ${why}`, {
        file: source,
        hint: 'use a folder path (/mnt/nas/cache), ssh://[user@]host[:port]/path or s3://bucket/prefix',
      }),
    );
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (!scheme || scheme === 'file') {
    const p = scheme ? decodeURIComponent(new URL(url).pathname) : expandHome(url);
    return ok({ ...f, type: 'fs', name, dir: path.resolve(root, p) });
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad(`cannot read the url ${JSON.stringify(url)}`);
  }
  if (scheme === 'ssh' || scheme === 'sftp') {
    if (!u.hostname) return bad(`the url ${url} names no host`);
    // ssh://host/srv/x is the absolute /srv/x; ssh://host/~/x is relative to the login folder.
    let dir = decodeURIComponent(u.pathname);
    if (dir.startsWith('/~/')) dir = dir.slice(3);
    if (dir === '' || dir === '/~') dir = '.';
    const port = u.port ? Number(u.port) : f.port;
    return ok({
      ...f,
      type: 'ssh',
      name,
      host: u.hostname,
      ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(f.identityFile ? { identityFile: path.resolve(root, expandHome(f.identityFile)) } : {}),
      ...(f.sshConfig ? { sshConfig: path.resolve(root, expandHome(f.sshConfig)) } : {}),
      dir,
    });
  }
  if (scheme === 's3') {
    if (!u.hostname) return bad(`the url ${url} names no bucket`);
    return ok({ ...f, type: 's3', name, bucket: u.hostname, prefix: u.pathname.replace(/^\/+|\/+$/g, '') });
  }
  return bad(`unknown kind of url ${JSON.stringify(url)}`);
}

type FileShape = z.infer<typeof fileSchema>;

async function readConfigFile(file: string): Promise<Result<FileShape | undefined, Failure>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ok(undefined);
    return err(failure('io', `cannot read ${file}: ${(e as Error).message}`, { file }));
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const yamlErr = doc.errors[0];
  if (yamlErr) {
    const pos = yamlErr.linePos?.[0] ?? lc.linePos(yamlErr.pos[0]);
    return err(failure('usage', `${path.basename(file)} is not valid YAML: ${yamlErr.message.split('\n')[0]}`, { file, span: { file, line: pos.line, col: pos.col } }));
  }
  const parsed = fileSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    const node = doc.getIn(i.path as (string | number)[], true) as { range?: [number, number] } | undefined;
    const pos = node?.range ? lc.linePos(node.range[0]) : undefined;
    const where = i.path.length ? i.path.map(String).join('.') : '(top level)';
    return err(
      failure('usage', `${path.basename(file)}: ${where}: ${i.message}`, {
        file,
        ...(pos ? { span: { file, line: pos.line, col: pos.col } } : {}),
        hint: 'see README.md, "Share results: remotes": url, jobs, port, identityFile, sshConfig, options, endpoint, region, profile, forcePathStyle',
      }),
    );
  }
  return ok(parsed.data);
}

/** Reads both remote files under `root` (either may be absent). */
export async function loadRemotes(root: string): Promise<Result<RemotesConfig, Failure>> {
  const files = [path.join(root, REMOTES_FILE), path.join(root, REMOTES_LOCAL_FILE)];
  const merged: Record<string, Partial<RemoteFields>> = {};
  const origin: Record<string, string> = {};
  let dflt: string | undefined;
  const read: string[] = [];
  for (const file of files) {
    const f = await readConfigFile(file);
    if (!f.ok) return f;
    if (!f.value) continue;
    read.push(file);
    if (f.value.default) dflt = f.value.default;
    for (const [name, fields] of Object.entries(f.value.remotes ?? {})) {
      merged[name] = { ...merged[name], ...fields };
      origin[name] ??= file;
    }
  }
  const remotes = new Map<string, RemoteSpec>();
  for (const [name, fields] of Object.entries(merged)) {
    const source = origin[name]!;
    if (!fields.url) return err(failure('usage', `${path.basename(source)}: remote ${name} has no url`, { file: source, hint: 'add url: a folder, ssh://host/path or s3://bucket/prefix' }));
    const spec = parseRemoteUrl(name, fields as RemoteFields, root, source);
    if (!spec.ok) return spec;
    remotes.set(name, spec.value);
  }
  return ok({ ...(dflt ? { default: dflt } : {}), remotes, files: read });
}

/** The remote to use: `--remote NAME`, else `default:`, else the only one declared. */
export function pickRemote(cfg: RemotesConfig, wanted: string | undefined, root: string): Result<RemoteSpec, Failure> {
  const names = [...cfg.remotes.keys()];
  const name = wanted ?? cfg.default ?? (names.length === 1 ? names[0] : undefined);
  if (!name) {
    return err(
      failure('usage', names.length ? `several remotes are declared (${names.join(', ')}) and none is the default` : `no remote is declared for ${root}`, {
        hint: names.length
          ? `pass --remote NAME, or set default: in ${REMOTES_FILE}`
          : `declare one in ${REMOTES_FILE} next to pipeline.yaml, e.g.\n  remotes:\n    nas: { url: /mnt/lab/pipe-cache }`,
      }),
    );
  }
  const spec = cfg.remotes.get(name);
  if (!spec) return err(failure('usage', `no remote named ${name} (declared: ${names.join(', ') || 'none'})`, { hint: `declare it in ${REMOTES_FILE}` }));
  return ok(spec);
}
