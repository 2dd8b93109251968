/**
 * Runs one item of a per-item stage in this process, turning a throw into the
 * item's failure. Shared by the worker threads of the local item pool and the
 * Slurm array tasks, so an item behaves the same wherever it runs.
 */
import path from 'node:path';
import { failure, isFailureError, toFailure, type Failure } from '../failure.ts';
import type { ItemContext, ItemResult, PerItemStage } from '../stage-api.ts';
import { err, ok, type Result } from '../util/result.ts';
import type { ItemInit } from './item-protocol.ts';
import { normaliseRel } from './stage-init.ts';

export async function runItem(stage: PerItemStage | Promise<PerItemStage>, item: ItemInit, log: (line: string) => void): Promise<Result<ItemResult, Failure>> {
  const ctx: ItemContext<unknown> = {
    stage: item.stage,
    params: item.params,
    root: item.root,
    input: item.input,
    rel: item.rel,
    outDir: item.outDir,
    path: (rel) => (path.isAbsolute(rel) ? rel : path.join(item.root, normaliseRel(rel))),
    log,
  };
  try {
    const value = await (await stage).processItem(ctx);
    return ok(value ?? {});
  } catch (e) {
    const base = isFailureError(e) ? e.failure : toFailure(e, item.stage);
    return err(
      isFailureError(e)
        ? { ...base, stage: base.stage ?? item.stage, file: base.file ?? item.input }
        : failure('stage-error', `stage ${item.stage}: ${item.rel}: ${base.message}`, { stage: item.stage, file: item.input, stderrTail: base.stderrTail }),
    );
  }
}
