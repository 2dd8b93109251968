import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runShell } from '../../src/exec/shell.ts';
import { processGone, tempDir, waitFor } from './helpers.ts';

let tmp: { dir: string; cleanup(): Promise<void> };
beforeEach(async () => (tmp = await tempDir()));
afterEach(async () => tmp.cleanup());

function collect() {
  const lines: { stream: string; line: string }[] = [];
  return { lines, onLine: (stream: 'stdout' | 'stderr', line: string) => lines.push({ stream, line }) };
}

describe('runShell', () => {
  it('runs a command with /bin/sh in cwd with extra env, forwarding lines', async () => {
    const c = collect();
    const r = await runShell({
      cmd: 'echo "$GREETING from $(pwd)"; echo warn >&2; printf "%s" partial',
      cwd: tmp.dir,
      env: { GREETING: 'hi' },
      signal: new AbortController().signal,
      onLine: c.onLine,
    });
    expect(r).toEqual({ ok: true, value: undefined });
    expect(c.lines).toContainEqual({ stream: 'stdout', line: `hi from ${tmp.dir}` });
    expect(c.lines).toContainEqual({ stream: 'stderr', line: 'warn' });
    expect(c.lines).toContainEqual({ stream: 'stdout', line: 'partial' }); // last line without newline
  });

  it('a non-zero exit gives exit-non-zero with the code and the last 20 stderr lines', async () => {
    const r = await runShell({
      cmd: 'for i in $(seq 1 30); do echo "err $i" >&2; done; exit 4',
      cwd: tmp.dir,
      env: {},
      signal: new AbortController().signal,
      onLine: () => {},
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('exit-non-zero');
    expect(r.error.message).toMatch(/code 4/);
    expect(r.error.stderrTail).toHaveLength(20);
    expect(r.error.stderrTail![0]).toBe('err 11');
    expect(r.error.stderrTail![19]).toBe('err 30');
  });

  it('abort kills the whole group, grandchildren included', async () => {
    const pidFile = path.join(tmp.dir, 'grandchild.pid');
    const ac = new AbortController();
    // The grandchild ignores SIGTERM, so only the SIGKILL after the grace period stops it.
    const running = runShell({
      // The grandchild writes its pid only after installing the trap, so the abort cannot beat the trap.
      cmd: `sh -c 'trap "" TERM; echo $$ > ${pidFile}; exec sleep 1000' & wait`,
      cwd: tmp.dir,
      env: {},
      signal: ac.signal,
      onLine: () => {},
    });
    const pid = await waitFor(async () => {
      const t = await readFile(pidFile, 'utf8').catch(() => '');
      return /^\d+\s*$/.test(t) ? Number(t) : undefined;
    }, 'the grandchild pid');
    expect(processGone(pid)).toBe(false);
    ac.abort();
    const r = await running;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe('killed');
    expect(processGone(pid)).toBe(true);
  });

  it('background processes a finished command left behind are ended', async () => {
    const pidFile = path.join(tmp.dir, 'bg.pid');
    const r = await runShell({
      cmd: `sleep 1000 > /dev/null 2>&1 & echo $! > ${pidFile}`,
      cwd: tmp.dir,
      env: {},
      signal: new AbortController().signal,
      onLine: () => {},
    });
    expect(r.ok).toBe(true);
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(processGone(pid)).toBe(true);
  });

  it('an already-aborted signal does not start the command', async () => {
    const ac = new AbortController();
    ac.abort();
    const marker = path.join(tmp.dir, 'ran');
    const r = await runShell({ cmd: `touch ${marker}`, cwd: tmp.dir, env: {}, signal: ac.signal, onLine: () => {} });
    expect(r.ok).toBe(false);
    await expect(readFile(marker)).rejects.toThrow();
  });
});
