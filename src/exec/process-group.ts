/**
 * Child processes that own their process group, so killing a stage kills
 * everything it started (a shell's `sleep &`, Python's DataLoader workers).
 * Habits from wireit's `script-child-process.ts` (spawn detached, kill -pid)
 * and lage (SIGTERM, then SIGKILL after a grace period).
 *
 * Life of a child, as a small state machine:
 *   starting --spawn--> running --exit--> exited
 *   starting --kill()--> kill-pending --spawn--> killing (signals sent as soon as there is a pid)
 *   running --kill()--> killing --group gone / exit--> exited
 *   starting --error (ENOENT...)--> exited
 * Every live group is in a registry; a one-time hook on process exit and on
 * SIGINT/SIGTERM kills them all so a crashed or interrupted runner leaves no
 * stage processes behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  error?: string;
}

export interface ChildHandle {
  readonly pid: number | undefined;
  /** Resolves once the process exited and its output was delivered. Never rejects. */
  readonly done: Promise<ChildExit>;
  /**
   * SIGTERM to the whole group, then SIGKILL after `graceMs` (default 3000)
   * if any member is still alive. Resolves when the group is gone (or
   * SIGKILL was sent). Safe to call before the process started and more than
   * once; after the leader exited it kills whatever the group left running.
   */
  kill(graceMs?: number): Promise<void>;
}

export interface SpawnGroupOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Open an IPC channel (the child is a Node process using process.send). */
  ipc?: boolean;
  onStdout?(line: string): void;
  onStderr?(line: string): void;
  onMessage?(m: unknown): void;
  shell?: boolean;
}

type Phase = 'starting' | 'kill-pending' | 'running' | 'killing' | 'exited';

const DEFAULT_GRACE_MS = 3000;
/** After exit, how long to wait for stdio to close: a backgrounded grandchild may hold the pipes open. */
const STDIO_DRAIN_MS = 1000;

const live = new Set<GroupChild>();
let hooksInstalled = false;

/**
 * True while any member of process group `pgid` is still running. Zombies do
 * not count: in containers whose PID 1 does not reap orphans, a killed
 * grandchild stays a zombie forever and `kill(-pgid, 0)` keeps succeeding.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    // EPERM: exists but not ours to signal; still alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  return procHasLiveMember(pgid) ?? true;
}

/** Linux only: scans /proc for a non-zombie process in group `pgid`; undefined where /proc is unavailable. */
function procHasLiveMember(pgid: number): boolean | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(Number(e));
    if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') return true;
  }
  return false;
}

/** State letter and process group of `pid` from /proc/<pid>/stat, or undefined if gone/unreadable. */
export function procStat(pid: number): { state: string; pgrp: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself contain spaces or ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '', pgrp: Number(rest[2]) };
  } catch {
    return undefined;
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch (e) {
    // ESRCH: the group is gone. Never fall back to the bare pid then: once the
    // leader was reaped its pid may belong to an unrelated process.
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return;
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

/** Kills every live group with `sig` right now (synchronous: usable from an 'exit' handler). */
export function killAllGroups(sig: NodeJS.Signals = 'SIGKILL'): void {
  for (const c of live) if (c.pid !== undefined) signalGroup(c.pid, sig);
}

/** Number of groups spawned here that have not been seen to exit (for tests and diagnostics). */
export function liveGroupCount(): number {
  return live.size;
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL is the only thing that works there.
  process.on('exit', () => killAllGroups('SIGKILL'));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = () => {
      // Detached children are outside the terminal's foreground group, so
      // Ctrl-C never reaches them: forward it.
      killAllGroups('SIGTERM');
      // A listener replaces Node's default "exit on signal". If nobody else
      // (the CLI's graceful abort) listens, keep that default; the 'exit' hook
      // then SIGKILLs whatever ignored the SIGTERM.
      if (process.listenerCount(sig) === 1) process.exit(sig === 'SIGINT' ? 130 : 143);
    };
    process.on(sig, onSignal);
  }
}

class GroupChild implements ChildHandle {
  private phase: Phase = 'starting';
  private child: ChildProcess;
  private killGrace = DEFAULT_GRACE_MS;
  private killDone: Promise<void> | undefined;
  private resolveKillRequested: (() => void) | undefined;
  readonly done: Promise<ChildExit>;
  send?: (m: unknown) => void;

  constructor(command: string, args: string[], o: SpawnGroupOptions) {
    installHooks();
    this.child = spawn(command, args, {
      cwd: o.cwd,
      env: o.env,
      detached: true, // own process group: kill(-pid) reaches grandchildren
      shell: o.shell ?? false,
      stdio: ['ignore', 'pipe', 'pipe', ...(o.ipc ? (['ipc'] as const) : [])],
    });
    live.add(this);
    const lines = (stream: Readable | null, cb: ((l: string) => void) | undefined): Promise<void> => {
      if (!stream) return Promise.resolve();
      if (cb) createInterface({ input: stream, crlfDelay: Infinity }).on('line', cb);
      else stream.resume();
      // The stream's own 'close' (not readline's): it also fires when the drain timer destroys the stream.
      return new Promise((r) => stream.once('close', r));
    };
    const outClosed = Promise.all([lines(this.child.stdout, o.onStdout), lines(this.child.stderr, o.onStderr)]);
    if (o.ipc) {
      this.send = (m: unknown) => {
        if (this.child.connected) this.child.send(m as never, (e) => void e /* child gone: its exit reports it */);
      };
      if (o.onMessage) this.child.on('message', o.onMessage);
    }

    this.done = new Promise<ChildExit>((resolve) => {
      this.child.once('spawn', () => {
        if (this.phase === 'kill-pending') this.beginKill();
        else if (this.phase === 'starting') this.phase = 'running';
      });
      this.child.once('error', (e) => {
        // Spawn failure (no 'exit' will follow) — an error after spawn is followed by 'exit'.
        if (this.child.pid === undefined) {
          this.finish();
          resolve({ code: null, signal: null, error: e.message });
        }
      });
      this.child.once('exit', (code, signal) => {
        const timer = setTimeout(() => {
          this.child.stdout?.destroy();
          this.child.stderr?.destroy();
        }, STDIO_DRAIN_MS);
        timer.unref();
        void outClosed.then(() => {
          clearTimeout(timer);
          // Leader gone; keep the group in the registry while members remain
          // only if we are killing it (kill() waits for the whole group).
          if (this.phase !== 'killing') this.finish();
          resolve({ code, signal });
        });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private finish(): void {
    this.phase = 'exited';
    live.delete(this);
    this.resolveKillRequested?.();
  }

  kill(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    this.killGrace = graceMs;
    if (this.killDone) return this.killDone;
    switch (this.phase) {
      case 'exited':
        // The leader is gone but members it left behind (a `cmd &`) may not be: sweep them too.
        if (this.child.pid !== undefined && groupAlive(this.child.pid)) return this.beginKill();
        return Promise.resolve();
      case 'starting':
        this.phase = 'kill-pending';
        this.killDone = new Promise<void>((r) => (this.resolveKillRequested = r));
        return this.killDone;
      case 'running':
        return (this.killDone = this.beginKill());
      case 'kill-pending':
      case 'killing':
        return this.killDone ?? Promise.resolve();
    }
  }

  private beginKill(): Promise<void> {
    const pid = this.child.pid;
    const resolvePending = this.resolveKillRequested;
    this.phase = 'killing';
    const p = (async () => {
      if (pid === undefined) return;
      signalGroup(pid, 'SIGTERM');
      const deadline = Date.now() + this.killGrace;
      // Wait for the whole group, not just the leader: a grandchild that
      // ignores SIGTERM must still get the SIGKILL.
      while (groupAlive(pid) && Date.now() < deadline) await sleep(25);
      if (groupAlive(pid)) {
        signalGroup(pid, 'SIGKILL');
        const hardDeadline = Date.now() + 2000;
        while (groupAlive(pid) && Date.now() < hardDeadline) await sleep(25);
      }
    })().finally(() => {
      this.finish();
      resolvePending?.();
    });
    this.killDone = p;
    return p;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Spawns `command` in its own process group. stdout/stderr are split into
 * lines; with `ipc`, messages arrive through `onMessage` and `send` is defined.
 */
export function spawnGroup(command: string, args: string[], o: SpawnGroupOptions): ChildHandle & { send?(m: unknown): void } {
  return new GroupChild(command, args, o);
}

/**
 * Waits for a child to exit, killing its whole group if `signal` aborts first.
 * `aborted` says which happened; after an abort the group is gone on return.
 */
export async function exitOrAbort(
  child: ChildHandle,
  signal: AbortSignal,
): Promise<{ exit: Awaited<ChildHandle['done']>; aborted: boolean }> {
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    void child.kill();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await child.done;
    if (aborted) await child.kill(); // already under way: wait until the whole group is gone
    return { exit, aborted };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
