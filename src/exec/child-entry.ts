/**
 * Entry point of a stage's own Node process (GPU stages, `isolate: true`).
 * Waits for the init message, imports the stage module, runs it with the same
 * context an in-process stage gets, and reports progress, logs and the result
 * over IPC. Started by child-stage.ts; never imported by the engine.
 */
import { pathToFileURL } from 'node:url';
import { failure, type Failure } from '../failure.ts';
import type { Stage } from '../stage-api.ts';
import { err, type Result } from '../util/result.ts';
import type { ChildMessage, InitMessage } from './child-protocol.ts';
import { runStageInProcess } from './in-process.ts';

/** How long a stage gets to notice the abort (save a checkpoint) after SIGTERM before the process exits. */
const ABORT_GRACE_MS = 2000;

function send(m: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

async function main(msg: InitMessage): Promise<Result<void, Failure>> {
  const { init } = msg;
  let stage: Stage | undefined;
  try {
    stage = ((await import(pathToFileURL(msg.modulePath).href)) as { default?: Stage }).default;
  } catch (e) {
    return err(failure('stage-error', `stage ${init.stage}: cannot load ${msg.modulePath}: ${(e as Error).message}`, { stage: init.stage, file: msg.modulePath }));
  }
  if (!stage || stage.kind !== 'whole') {
    return err(failure('internal', `stage ${init.stage}: ${msg.modulePath} must export a default whole stage (kind: 'whole')`, { stage: init.stage, file: msg.modulePath }));
  }
  const ac = new AbortController();
  process.once('SIGTERM', () => {
    ac.abort();
    setTimeout(() => process.exit(143), ABORT_GRACE_MS).unref();
  });
  return runStageInProcess(stage, init, {
    signal: ac.signal,
    onProgress: (progress) => void send({ type: 'progress', progress }),
    onLog: (line) => void send({ type: 'log', line }),
  });
}

// The runner going away (even by SIGKILL) closes the channel: a detached
// child must not outlive it.
process.once('disconnect', () => process.exit(1));
process.once('message', (m: unknown) => {
  void main(m as InitMessage).then(async (result) => {
    await send({ type: 'result', result });
    // Exit explicitly: stage libraries (tfjs thread pools, open handles) may keep the loop alive.
    process.exit(result.ok ? 0 : 1);
  });
});
