/**
 * The whole-pipeline view used by `pipe status` and shown before a run: each
 * selected stage with what would happen to it and why. Stages downstream of
 * one that will run are marked stale because of it, since their inputs are
 * about to change.
 */
import type { Failure } from '../failure.ts';
import type { PlannedStage } from '../events.ts';
import type { PlanContext } from './context.ts';
import { assessStage, type StageAssessment } from './assess.ts';

export interface PlanResult {
  planned: PlannedStage[];
  assessments: Map<string, StageAssessment>;
  failures: Failure[];
}

export async function planStages(s: PlanContext, names: string[], o: { forced: Set<string> }): Promise<PlanResult> {
  const planned: PlannedStage[] = [];
  const assessments = new Map<string, StageAssessment>();
  const failures: Failure[] = [];
  const changing = new Set<string>();
  for (const name of names) {
    const stage = s.graph.stages.get(name)!;
    const upstreamChanged = (s.graph.upstream.get(name) ?? []).filter((u) => changing.has(u));
    const a = await assessStage(s, stage, { force: o.forced.has(name), upstreamChanged, planning: true });
    if (!a.ok) {
      failures.push(a.error);
      changing.add(name);
      continue;
    }
    assessments.set(name, a.value);
    if (a.value.action !== 'up-to-date') changing.add(name);
    const last = s.lock.stages[name]?.durationMs;
    planned.push({ stage: name, action: a.value.action, reasons: a.value.reasons, ...(last !== undefined ? { lastDurationMs: last } : {}) });
  }
  return { planned, assessments, failures };
}
