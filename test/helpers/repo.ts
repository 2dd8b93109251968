/**
 * A real temporary repo and the real `pipe` command run as a child process,
 * for end-to-end tests (wireit's test rig habit).
 */
import { mkdtemp, mkdir, writeFile, readFile, rm } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PKG_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PIPE_BIN = path.join(PKG_ROOT, 'bin', 'pipe.js');

export interface PipeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class TestRepo {
  private constructor(readonly root: string) {}

  static async create(files: Record<string, string> = {}): Promise<TestRepo> {
    const root = await mkdtemp(path.join(os.tmpdir(), 'pipe-e2e-'));
    const repo = new TestRepo(root);
    for (const [rel, text] of Object.entries(files)) await repo.write(rel, text);
    return repo;
  }

  path(rel: string): string {
    return path.join(this.root, rel);
  }

  async write(rel: string, text: string | Uint8Array): Promise<void> {
    await mkdir(path.dirname(this.path(rel)), { recursive: true });
    await writeFile(this.path(rel), text);
  }

  read(rel: string): Promise<string> {
    return readFile(this.path(rel), 'utf8');
  }

  /** Starts `pipe <args>` in the repo without waiting. */
  start(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<PipeResult> } {
    const child = spawn(process.execPath, [PIPE_BIN, ...args], {
      cwd: this.root,
      env: { ...process.env, CI: '1', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<PipeResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
    return { child, done };
  }

  /** Runs `pipe <args>` in the repo to completion. */
  pipe(args: string[], env: Record<string, string> = {}): Promise<PipeResult> {
    return this.start(args, env).done;
  }

  async dispose(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Parses `pipe run --json` output into events. */
export function jsonEvents(stdout: string): Array<Record<string, unknown> & { type: string }> {
  return stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown> & { type: string });
}

export function summaryOf(stdout: string): { ran: string[]; restored: string[]; upToDate: string[]; failed: string[]; notRun: string[] } {
  const end = jsonEvents(stdout).find((e) => e.type === 'run-finished');
  if (!end) throw new Error(`no run-finished event in:\n${stdout}`);
  return end.summary as never;
}

/** Waits until a file exists (a stage's "I have started" marker). */
export async function waitForFile(abs: string, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      await readFile(abs);
      return;
    } catch {
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${abs}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
