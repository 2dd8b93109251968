/**
 * Which executor runs a stage. `local` picks among this machine's executors
 * by the kind of work; a cluster executor takes every kind itself.
 */
import type { Executor, ItemExecutor } from './executor.ts';
import { shellExecutor } from './shell.ts';
import { childExecutor } from './child-stage.ts';
import { inProcessExecutor } from './in-process.ts';
import { itemPoolExecutor } from './item-pool.ts';
import { shellItemsExecutor } from './shell-items.ts';
import { slurmExecutor, slurmItemsExecutor } from './slurm.ts';

import type { ExecutorName, Pipeline, StageInstance } from '../model.ts';

export type { ExecutorName };
/** Values of pipeline.yaml `executor:` and `pipe run --executor`. */
export const EXECUTOR_NAMES: readonly ExecutorName[] = ['local', 'slurm'];

/** Where a stage runs: its own `executor:`, else `pipe run --executor`, else the file's `executor:`, else here. */
export function whereRuns(stage: Pick<StageInstance, 'executor'>, pipeline: Pick<Pipeline, 'executor'>, override: ExecutorName | undefined): ExecutorName {
  return stage.executor ?? override ?? pipeline.executor ?? 'local';
}

/** What decides the local executor of a whole stage. */
export interface WholeWork {
  cmd: boolean;
  /** GPU stages and `isolate: true` stages get their own process. */
  ownProcess: boolean;
}

export function stageExecutor(where: ExecutorName, w: WholeWork): Executor {
  switch (where) {
    case 'local':
      return w.cmd ? shellExecutor : w.ownProcess ? childExecutor : inProcessExecutor;
    case 'slurm':
      return slurmExecutor;
  }
}

export function itemExecutor(where: ExecutorName, cmd: boolean): ItemExecutor {
  switch (where) {
    case 'local':
      return cmd ? shellItemsExecutor : itemPoolExecutor;
    case 'slurm':
      return slurmItemsExecutor;
  }
}
