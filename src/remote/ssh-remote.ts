/**
 * An SSH remote through the system's OpenSSH client, so the user's
 * ~/.ssh/config (host aliases, ProxyJump, keys) and ssh-agent just work.
 * Only SFTP is used (no remote shell), so a `ForceCommand internal-sftp`
 * account is enough.
 *
 * Round trips: one master connection (ControlMaster) is opened and
 * authenticated once; every transfer is an `sftp -b` batch of up to a few
 * hundred files riding on it, a few batches at a time. Each upload goes to a
 * temp name and is renamed (OpenSSH's posix-rename: atomic, replaces), so a
 * killed push leaves only a recognisable temp, never a partial object.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { failure, FailureError } from '../failure.ts';
import { tempName } from '../hash/temp-name.ts';
import type { RemoteSpec } from './config.ts';
import type { RemoteStore, Transfer } from './types.ts';
import { keyDir } from './types.ts';

type SshSpec = Extract<RemoteSpec, { type: 'ssh' }>;

/** A path quoted for an sftp batch file. */
function q(p: string): string {
  return `"${p.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** The last meaningful lines ssh or sftp wrote to stderr. */
function tail(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('Warning: Permanently added'));
  return lines.slice(-3).join(' / ') || 'no message';
}

export async function openSshRemote(spec: SshSpec): Promise<RemoteStore> {
  const dest = spec.user ? `${spec.user}@${spec.host}` : spec.host;
  const label = `${spec.name} (${dest}${spec.port ? ':' + spec.port : ''}:${spec.dir})`;
  const ctl = await mkdtemp(path.join(os.tmpdir(), 'pipe-ssh-'));
  const sock = path.join(ctl, 'cm');
  const opts: string[] = ['-o', 'BatchMode=yes', '-o', `ControlPath=${sock}`];
  if (spec.identityFile) opts.push('-o', `IdentityFile=${spec.identityFile}`);
  if (spec.sshConfig) opts.push('-F', spec.sshConfig);
  for (const [k, v] of Object.entries(spec.options ?? {})) opts.push('-o', `${k}=${v}`);
  const fail = (what: string, detail: string): never => {
    throw new FailureError(
      failure('remote', `remote ${label}: ${what}: ${detail}`, {
        hint: 'check that `ssh ' + dest + '` works without a password prompt (a key in ssh-agent or IdentityFile), and that the folder exists',
      }),
    );
  };

  // The master: authenticates once; its control socket appears when it is ready.
  const master = spawn('ssh', [...opts, ...(spec.port ? ['-p', String(spec.port)] : []), '-o', 'ControlMaster=yes', '-N', dest], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let masterErr = '';
  let masterExit: number | null | undefined;
  master.stderr!.on('data', (d: Buffer) => (masterErr += d.toString()));
  master.on('close', (code) => (masterExit = code));
  master.on('error', (e) => ((masterExit = -1), (masterErr += e.message)));
  const stopMaster = async () => {
    if (masterExit === undefined) {
      master.kill('SIGTERM');
      await new Promise((r) => master.once('close', r));
    }
    await rm(ctl, { recursive: true, force: true });
  };
  const t0 = Date.now();
  while (!existsSync(sock)) {
    if (masterExit !== undefined || Date.now() - t0 > 30_000) {
      await stopMaster();
      return fail('cannot connect', masterExit === undefined ? 'no answer within 30 s' : tail(masterErr));
    }
    await new Promise((r) => setTimeout(r, 25));
  }

  const sftpArgs = (batch: string) => ['-b', batch, ...opts, ...(spec.port ? ['-P', String(spec.port)] : []), '-o', 'ControlMaster=no', dest];
  /** Runs one sftp batch (after `cd` to the remote folder); lines starting with '-' may fail. */
  const batch = async (lines: string[], what: string): Promise<Ran> => {
    const file = path.join(ctl, `batch-${process.pid}-${Math.random().toString(36).slice(2)}`);
    await writeFile(file, [spec.dir === '.' ? '' : `cd ${q(spec.dir)}`, ...lines].filter(Boolean).join('\n') + '\n');
    try {
      const r = await run('sftp', sftpArgs(file));
      if (r.code !== 0) fail(what, tail(r.stderr));
      return r;
    } finally {
      await rm(file, { force: true });
    }
  };
  try {
    await batch(['pwd'], 'cannot open the remote folder');
  } catch (e) {
    await stopMaster();
    throw e;
  }

  const mkdirs = (keys: string[]): string[] => {
    const dirs = new Set<string>();
    for (const k of keys) {
      const parts = keyDir(k).split('/').filter(Boolean);
      for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    }
    return [...dirs].sort().map((d) => `-mkdir ${q(d)}`);
  };

  return {
    label,
    jobs: spec.jobs ?? 4,
    async present(keys) {
      const dirs = [...new Set(keys.map(keyDir))].sort();
      const r = await batch(dirs.map((d) => `-ls -1 ${q(d)}`), 'listing');
      const have = new Set<string>();
      let dir: string | undefined;
      for (const raw of r.stdout.split('\n')) {
        const line = raw.trim();
        const m = /^sftp> -?ls -1 "(.*)"$/.exec(line);
        if (m) {
          dir = m[1]!.replaceAll('\\"', '"').replaceAll('\\\\', '\\');
          continue;
        }
        if (line.startsWith('sftp>') || !line || dir === undefined) continue;
        have.add(`${dir}/${path.posix.basename(line)}`);
      }
      const wanted = new Set(keys);
      return new Set([...have].filter((k) => wanted.has(k)));
    },
    async upload(items: Transfer[], onDone) {
      const lines = mkdirs(items.map((t) => t.key));
      for (const t of items) {
        const tmp = tempName(t.key);
        lines.push(`put ${q(t.local)} ${q(tmp)}`, `rename ${q(tmp)} ${q(t.key)}`);
      }
      await batch(lines, 'upload');
      for (const t of items) onDone(t);
    },
    async download(items: Transfer[], onDone) {
      // '-get': a key that is not there is skipped; the caller sees no file.
      await batch(items.map((t) => `-get ${q(t.key)} ${q(t.local)}`), 'download');
      for (const t of items) if (existsSync(t.local)) onDone(t);
    },
    close: stopMaster,
  };
}
