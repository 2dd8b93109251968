/**
 * The cheapest executor: call the stage's `run` in the runner's own process.
 * This is the one boundary where a stage's throw becomes a Failure.
 */
import type { Progress } from '../events.ts';
import { failure, toFailure, type Failure } from '../failure.ts';
import type { Stage, WholeStage } from '../stage-api.ts';
import { pathToFileURL } from 'node:url';
import { err, ok, type Result } from '../util/result.ts';
import { makeStageContext, type StageInit } from './stage-init.ts';
import type { Executor } from './executor.ts';

/** Runs a whole stage in this process; a thrown FailureError gives its failure, any other throw an 'internal' one. */
export async function runStageInProcess(
  stage: WholeStage,
  init: StageInit,
  o: { signal: AbortSignal; onProgress(p: Progress): void; onLog(line: string): void },
): Promise<Result<void, Failure>> {
  if (o.signal.aborted) return err(failure('killed', `stage ${init.stage} not started: the run was interrupted`, { stage: init.stage }));
  const ctx = makeStageContext(init, { progress: o.onProgress, log: o.onLog, signal: o.signal });
  try {
    await stage.run(ctx);
    return ok(undefined);
  } catch (e) {
    // A stage that stops because it saw the abort usually throws an AbortError;
    // report that as the interruption it is, not as a bug.
    if (o.signal.aborted) return err(failure('killed', `stage ${init.stage} was interrupted`, { stage: init.stage }));
    return err(toFailure(e, init.stage));
  }
}

/** Built-in whole stages in the runner's own process: no start-up cost, for cheap stages. */
export const inProcessExecutor: Executor = {
  name: 'in process',
  run: async (job) => {
    const w = job.work;
    if (w.kind !== 'stage') throw new Error(`in-process executor given a command (${job.stage})`);
    const stage = w.loaded ?? ((await import(pathToFileURL(w.modulePath).href)) as { default?: Stage }).default;
    if (!stage || stage.kind !== 'whole') return err(failure('internal', `stage ${job.stage}: ${w.modulePath} must export a default whole stage`, { stage: job.stage, file: w.modulePath }));
    return runStageInProcess(stage, w.init, { signal: job.signal, onProgress: (p) => job.log.progress(p), onLog: (line) => job.log.line('info', line) });
  },
};
