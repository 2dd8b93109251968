/**
 * Executor that runs a built-in whole stage in its own Node process: GPU
 * stages (each child sees only its GPUs through CUDA_VISIBLE_DEVICES) and
 * stages marked `isolate: true` (heavy memory, native libraries that must not
 * take the runner down with them).
 */
import type { Progress } from '../events.ts';
import { failure, type Failure } from '../failure.ts';
import { err, type Result } from '../util/result.ts';
import { isChildMessage, type InitMessage } from './child-protocol.ts';
import { entryModule, nodeArgsFor } from './node-entry.ts';
import { spawnGroup, exitOrAbort } from './process-group.ts';
import type { StageInit } from './stage-init.ts';
import { TailBuffer } from './tail.ts';
import type { Executor } from './executor.ts';

export interface ChildStageOptions {
  /** Absolute path of the stage module (its default export is the stage). */
  modulePath: string;
  init: StageInit;
  /** Variables added to the runner's environment, e.g. CUDA_VISIBLE_DEVICES. */
  env: Record<string, string>;
  signal: AbortSignal;
  onProgress(p: Progress): void;
  onLog(line: string): void;
}

/** Runs the stage in a child Node process; abort kills its process group and gives 'killed'. */
export async function runStageInChild(o: ChildStageOptions): Promise<Result<void, Failure>> {
  const stageName = o.init.stage;
  if (o.signal.aborted) return err(failure('killed', `stage ${stageName} not started: the run was interrupted`, { stage: stageName }));
  const entry = entryModule('src/exec/child-entry');
  const tail = new TailBuffer(20);
  let result: Result<void, Failure> | undefined;
  const child = spawnGroup(process.execPath, nodeArgsFor(entry, o.modulePath), {
    cwd: o.init.root,
    env: { ...process.env, ...o.env },
    ipc: true,
    onStdout: (l) => o.onLog(l),
    onStderr: (l) => {
      tail.push(l);
      o.onLog(l);
    },
    onMessage: (m) => {
      if (!isChildMessage(m)) return;
      switch (m.type) {
        case 'progress':
          o.onProgress(m.progress);
          break;
        case 'log':
          o.onLog(m.line);
          break;
        case 'result':
          result = m.result;
          break;
      }
    },
  });
  const init: InitMessage = { type: 'init', modulePath: o.modulePath, init: o.init };
  child.send?.(init);

  const { exit, aborted } = await exitOrAbort(child, o.signal);
  if (aborted) return err(failure('killed', `stage ${stageName} was interrupted`, { stage: stageName, stderrTail: tail.lines() }));
  await child.kill(1000); // anything the stage spawned and left running
  if (result) return result.ok ? result : err({ ...result.error, stage: result.error.stage ?? stageName });
  if (exit.error) return err(failure('internal', `stage ${stageName}: cannot start node (${exit.error})`, { stage: stageName }));
  const how = exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
  return err(
    failure('exit-non-zero', `stage ${stageName}: its process ${how} before reporting a result`, {
      stage: stageName,
      stderrTail: tail.lines(),
      hint: exit.signal === 'SIGKILL' ? 'a SIGKILL nobody asked for is often the out-of-memory killer; lower the batch size or image size' : undefined,
    }),
  );
}

/** Built-in whole stages in their own Node process on this machine (GPU stages, `isolate: true`). */
export const childExecutor: Executor = {
  name: 'child process',
  run: (job) => {
    if (job.work.kind !== 'stage') throw new Error(`child executor given a command (${job.stage})`);
    return runStageInChild({
      modulePath: job.work.modulePath,
      init: job.work.init,
      env: job.env,
      signal: job.signal,
      onProgress: (p) => job.log.progress(p),
      onLog: (line) => job.log.line('info', line),
    });
  },
};
