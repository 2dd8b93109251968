/**
 * The executor for `cmd:` stages: `/bin/sh -c <cmd>` in its own process
 * group, output forwarded line by line, a non-zero exit turned into a Failure
 * carrying the end of stderr.
 */
import { failure, type Failure } from '../failure.ts';
import { err, ok, type Result } from '../util/result.ts';
import { spawnGroup, exitOrAbort } from './process-group.ts';
import { TailBuffer } from './tail.ts';
import type { Executor } from './executor.ts';

export interface ShellOptions {
  cmd: string;
  cwd: string;
  /** Variables added to (and overriding) the runner's own environment. */
  env: Record<string, string>;
  signal: AbortSignal;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
}

/** Runs `o.cmd` with /bin/sh; abort kills the whole process group and gives a 'killed' failure. */
export async function runShell(o: ShellOptions): Promise<Result<void, Failure>> {
  if (o.signal.aborted) return err(failure('killed', `command not started, the run was interrupted: ${o.cmd}`));
  const tail = new TailBuffer(20);
  const child = spawnGroup('/bin/sh', ['-c', o.cmd], {
    cwd: o.cwd,
    env: { ...process.env, ...o.env },
    onStdout: (l) => o.onLine('stdout', l),
    onStderr: (l) => {
      tail.push(l);
      o.onLine('stderr', l);
    },
  });
  const { exit, aborted } = await exitOrAbort(child, o.signal);
  if (aborted) return err(failure('killed', `command interrupted: ${o.cmd}`, { stderrTail: tail.lines() }));
  if (exit.error) {
    return err(failure('exit-non-zero', `could not start /bin/sh for: ${o.cmd} (${exit.error})`, { hint: 'check that /bin/sh exists and the working folder is readable' }));
  }
  // A command may leave background processes behind (`server &`); they would
  // outlive the stage and could keep writing its outputs, so end them now.
  await child.kill(1000);
  if (exit.code === 0) return ok(undefined);
  const how = exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
  return err(failure('exit-non-zero', `command ${how}: ${o.cmd}`, { stderrTail: tail.lines() }));
}

/** `cmd:` stages on this machine. */
export const shellExecutor: Executor = {
  name: 'shell',
  run: (job) => {
    if (job.work.kind !== 'cmd') throw new Error(`shell executor given a built-in stage (${job.stage})`);
    return runShell({ cmd: job.work.cmd, cwd: job.cwd, env: job.env, signal: job.signal, onLine: (stream, line) => job.log.line(stream, line) });
  },
};
