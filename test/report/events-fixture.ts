/** A scripted run shared by the reporter tests: times are local wall-clock times on one day. */
import type { Failure } from '../../src/failure.ts';
import type { PipeEvent, PlannedStage } from '../../src/events.ts';

export const at = (h: number, m: number, s: number, ms = 0): number => new Date(2025, 0, 15, h, m, s, ms).getTime();

export const yamlText = ['stages:', '  train:', '    params:', '      lr: fast', ''].join('\n');

export const badParams: Failure = {
  kind: 'bad-params',
  message: "param 'lr' of stage train@bright must be a number, not 'fast'",
  hint: 'write a number such as 0.01',
  span: { file: 'pipeline.yaml', line: 4, col: 11, length: 4 },
  stage: 'train@bright',
};

export const planned: PlannedStage[] = [
  { stage: 'synth', action: 'up-to-date', reasons: [] },
  { stage: 'evaluate@dark', action: 'restore', reasons: [{ kind: 'upstream-changed', stage: 'synth' }] },
  { stage: 'train@dark', action: 'run', reasons: [{ kind: 'param-changed', key: 'lr', old: 0.1, new: 0.01 }], lastDurationMs: 60_000 },
  { stage: 'train@bright', action: 'run', reasons: [{ kind: 'never-run' }] },
  { stage: 'report@bright', action: 'run', reasons: [{ kind: 'upstream-changed', stage: 'train@bright' }] },
];

/** 12:03:04 start; train@dark reports 200 steps, every 0.5 s; train@bright fails; report@bright never runs. */
export function scriptedRun(): PipeEvent[] {
  const ev: PipeEvent[] = [];
  ev.push({ type: 'run-planned', time: at(12, 3, 4), stages: planned, jobs: 2, gpus: [], dryRun: false });
  ev.push({ type: 'stage-up-to-date', time: at(12, 3, 4), stage: 'synth' });
  ev.push({ type: 'stage-restored', time: at(12, 3, 4), stage: 'evaluate@dark', durationMs: 310 });
  ev.push({
    type: 'stage-started',
    time: at(12, 3, 4),
    stage: 'train@dark',
    reasons: planned[2]?.reasons ?? [],
    executor: 'child-process',
    expectedMs: 60_000,
  });
  ev.push({ type: 'stage-started', time: at(12, 3, 4), stage: 'train@bright', reasons: [{ kind: 'never-run' }], executor: 'in-process' });
  ev.push({ type: 'stage-log', time: at(12, 3, 5), stage: 'train@dark', stream: 'stdout', line: 'loading 120 images' });
  for (let step = 1; step <= 20; step++) {
    ev.push({
      type: 'stage-progress',
      time: at(12, 3, 5) + step * 500,
      stage: 'train@dark',
      progress: { step: step * 10, total: 200, values: { loss: 1 / step, lr: 0.01 } },
    });
  }
  ev.push({ type: 'stage-failed', time: at(12, 3, 9), stage: 'train@bright', failure: badParams, durationMs: 5000 });
  ev.push({ type: 'stage-not-run', time: at(12, 3, 9), stage: 'report@bright', because: 'train@bright failed' });
  ev.push({ type: 'warning', time: at(12, 3, 10), message: 'cache is 91% full' });
  ev.push({ type: 'stage-finished', time: at(12, 4, 10), stage: 'train@dark', durationMs: 66_100 });
  ev.push({
    type: 'run-finished',
    time: at(12, 4, 16),
    failures: [badParams, { kind: 'io', message: 'could not write pipeline.lock: disk full' }],
    summary: {
      ran: ['train@dark'],
      restored: ['evaluate@dark'],
      upToDate: ['synth'],
      failed: ['train@bright'],
      notRun: ['report@bright'],
      durationMs: 72_000,
    },
  });
  return ev;
}
