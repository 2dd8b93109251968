/** The paths a stage writes, as the engine tracks them. */
import type { StageInstance } from '../model.ts';
import { isWithin } from '../config/paths.ts';

export interface TrackedOut {
  path: string;
  /** false for `cache: false` outs: tracked in the lock but never stored or restored. */
  cache: boolean;
}

/**
 * Outs plus metrics files that are not already inside an out folder, in a
 * stable order. Metrics are outputs too; listing one twice would store it twice.
 */
export function trackedOuts(stage: StageInstance): TrackedOut[] {
  const outs: TrackedOut[] = stage.outs.map((o) => ({ path: o.path, cache: o.cache }));
  for (const m of stage.metrics) {
    if (!outs.some((o) => isWithin(m, o.path))) outs.push({ path: m, cache: true });
  }
  return outs;
}
