/** What the runner hands every stage execution besides the stage itself. */
import type { PipeEvent } from '../events.ts';
import type { ExecutorName } from '../model.ts';
import type { RunWorkspace } from './workspace.ts';

export interface ExecEnv {
  signal: AbortSignal;
  emit(e: PipeEvent): void;
  keepGoing: boolean;
  ws: RunWorkspace;
  /** Whether the run has real GPUs; GPU stages without one get CUDA_VISIBLE_DEVICES=''. */
  hasGpus: boolean;
  /** `pipe run --executor`: where stages without their own `executor:` run (over the file's default). */
  executor?: ExecutorName;
}
