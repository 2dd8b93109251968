/**
 * A real OpenSSH server (Debian's openssh-server) for tests: started on a
 * loopback port with its own throwaway host key, client key and sshd_config
 * in a temp folder; nothing of the system's ssh configuration is touched.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SSHD = '/usr/sbin/sshd';
export const haveSshd = existsSync(SSHD) && existsSync('/usr/bin/sftp');

export interface Sshd {
  port: number;
  dir: string;
  /** A key the server accepts, and one it does not. */
  key: string;
  wrongKey: string;
  user: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
}

export async function startSshd(): Promise<Sshd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-sshd-'));
  keygen(path.join(dir, 'host_key'));
  keygen(path.join(dir, 'client_key'));
  keygen(path.join(dir, 'wrong_key'));
  execFileSync('cp', [path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys')]);
  // sshd refuses to start without its privilege separation folder (normally made by the service unit).
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755, recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host_key`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      // The keys live under /tmp (world-writable): StrictModes would refuse them.
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'Subsystem sftp internal-sftp',
      'MaxSessions 32',
      'MaxStartups 32',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  child.on('close', () => (exited = true));
  // Ready when the port accepts connections.
  for (let i = 0; ; i++) {
    if (exited) throw new Error(`sshd exited: ${stderr}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (i > 200) throw new Error(`sshd did not listen on ${port}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    dir,
    key: path.join(dir, 'client_key'),
    wrongKey: path.join(dir, 'wrong_key'),
    user: os.userInfo().username,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('close', r));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** pipe.remotes.yaml for an SSH remote on this server, with only the test's own keys and no ~/.ssh config. */
export function sshRemoteYaml(d: Sshd, remoteDir: string, key = d.key): string {
  return [
    'remotes:',
    '  lab:',
    `    url: ssh://${d.user}@127.0.0.1:${d.port}${remoteDir}`,
    `    identityFile: ${key}`,
    '    sshConfig: /dev/null',
    '    options: { StrictHostKeyChecking: "no", UserKnownHostsFile: /dev/null, IdentitiesOnly: "yes", IdentityAgent: none, LogLevel: ERROR }',
    '',
  ].join('\n');
}
