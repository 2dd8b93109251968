import { describe, expect, it } from 'vitest';
import { groupAlive, liveGroupCount, spawnGroup } from '../../src/exec/process-group.ts';
import { processGone } from './helpers.ts';

describe('spawnGroup', () => {
  it('reports exit code and lines', async () => {
    const out: string[] = [];
    const c = spawnGroup('/bin/sh', ['-c', 'echo one; echo two; exit 5'], { cwd: '/', env: process.env, onStdout: (l) => out.push(l) });
    expect(await c.done).toEqual({ code: 5, signal: null });
    expect(out).toEqual(['one', 'two']);
  });

  it('kill() right after spawn (before the process started) still kills it', async () => {
    const c = spawnGroup('sleep', ['1000'], { cwd: '/', env: process.env });
    const killed = c.kill(500);
    const exit = await c.done;
    await killed;
    expect(exit.signal).toBe('SIGTERM');
    expect(c.pid).toBeDefined();
    expect(processGone(c.pid!)).toBe(true);
    expect(groupAlive(c.pid!)).toBe(false);
  });

  it('a command that cannot start resolves done with an error instead of throwing', async () => {
    const c = spawnGroup('/definitely/not/here', [], { cwd: '/', env: process.env });
    const exit = await c.done;
    expect(exit.error).toMatch(/ENOENT/);
    await c.kill(); // harmless after the fact
  });

  it('finished and killed groups leave the live registry', async () => {
    const before = liveGroupCount();
    const a = spawnGroup('true', [], { cwd: '/', env: process.env });
    const b = spawnGroup('sleep', ['1000'], { cwd: '/', env: process.env });
    expect(liveGroupCount()).toBe(before + 2);
    await a.done;
    await new Promise((r) => setTimeout(r, 50)); // b is certainly running now
    await b.kill(500);
    expect(liveGroupCount()).toBe(before);
  });

  it('the exit hook kills live groups when the runner exits', async () => {
    // A runner process that starts a stage group and exits without cleaning up.
    const { nodeArgsFor } = await import('../../src/exec/node-entry.ts');
    const { fileURLToPath } = await import('node:url');
    const script = fileURLToPath(new URL('../fixtures/stages/leaky-runner.ts', import.meta.url));
    const lines: string[] = [];
    const runner = spawnGroup(process.execPath, nodeArgsFor(script), { cwd: '/', env: process.env, onStdout: (l) => lines.push(l) });
    await runner.done;
    const pid = Number(lines[0]);
    expect(pid).toBeGreaterThan(0);
    // The hook sends SIGKILL synchronously at exit; give the kernel a moment to deliver it.
    for (let i = 0; i < 100 && !processGone(pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(processGone(pid)).toBe(true);
  });
});
