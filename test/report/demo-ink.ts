/**
 * Not a test: replays a made-up run through the Ink reporter with real delays,
 * to look at it in a terminal (`npx tsx test/report/demo-ink.ts`, or inside
 * tmux to capture the pane). Pass `--plain` to see the plain reporter instead.
 */
import type { PipeEvent, PlannedStage } from '../../src/events.ts';
import { createInkReporter } from '../../src/report/ink/index.ts';
import { createPlainReporter } from '../../src/report/plain.ts';

/** A PipeEvent without its time (distributes over the union). */
type Untimed = PipeEvent extends infer E ? (E extends PipeEvent ? Omit<E, 'time'> : never) : never;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const yaml = ['stages:', '  train:', '    foreach: [dark, bright]', '    params:', '      lr: fast', ''].join('\n');

const planned: PlannedStage[] = [
  { stage: 'synth', action: 'up-to-date', reasons: [] },
  { stage: 'deglare@dark', action: 'restore', reasons: [{ kind: 'upstream-changed', stage: 'synth' }] },
  { stage: 'train@dark', action: 'run', reasons: [{ kind: 'param-changed', key: 'lr', old: 0.1, new: 0.01 }], lastDurationMs: 4000 },
  { stage: 'train@bright', action: 'run', reasons: [{ kind: 'never-run' }] },
  { stage: 'evaluate@bright-dark', action: 'run', reasons: [{ kind: 'upstream-changed', stage: 'train@dark' }] },
  ...['a', 'b', 'c', 'd', 'e', 'f'].map((x): PlannedStage => ({ stage: `report@${x}`, action: 'run', reasons: [{ kind: 'never-run' }] })),
];

async function main(): Promise<void> {
  const reporter = process.argv.includes('--plain')
    ? createPlainReporter(process.stdout, { color: true, readSource: () => yaml })
    : createInkReporter({ stdout: process.stdout, readSource: () => yaml });
  const t0 = Date.now();
  const emit = (e: Untimed) => reporter.onEvent({ ...e, time: Date.now() } as PipeEvent);
  emit({ type: 'run-planned', stages: planned, jobs: 2, gpus: [], dryRun: false });
  emit({ type: 'stage-up-to-date', stage: 'synth' });
  emit({ type: 'stage-restored', stage: 'deglare@dark', durationMs: 120 });
  emit({ type: 'stage-started', stage: 'train@dark', reasons: planned[2]!.reasons, executor: 'child', gpu: '0', expectedMs: 4000 });
  emit({ type: 'stage-started', stage: 'train@bright', reasons: planned[3]!.reasons, executor: 'in-process' });
  emit({ type: 'warning', message: 'no GPU found; GPU stages run on the CPU', stage: 'train@dark' });
  await sleep(600);
  for (let step = 1; step <= 20; step++) {
    emit({ type: 'stage-progress', stage: 'train@dark', progress: { step, total: 20, values: { loss: 1 / step, lr: 0.01 } } });
    emit({ type: 'stage-log', stage: 'train@dark', stream: 'stdout', line: `epoch 1 batch ${step}: loss ${(1 / step).toFixed(4)} — a rather long log line that should be cut at the terminal edge, not wrapped` });
    if (step % 2 === 0) emit({ type: 'stage-progress', stage: 'train@bright', progress: { step: step / 2, total: 40, message: 'epoch 1' } });
    await sleep(120);
  }
  emit({ type: 'stage-finished', stage: 'train@dark', durationMs: Date.now() - t0 });
  emit({ type: 'stage-started', stage: 'evaluate@bright-dark', reasons: planned[4]!.reasons, executor: 'in-process' });
  emit({ type: 'stage-items', stage: 'evaluate@bright-dark', total: 120, cached: 100, toProcess: 20, inPlace: 100 });
  await sleep(800);
  emit({
    type: 'stage-failed',
    stage: 'train@bright',
    durationMs: Date.now() - t0,
    failure: {
      kind: 'bad-params',
      message: "param 'lr' of stage train@bright must be a number, not 'fast'",
      hint: 'write a number such as 0.01',
      span: { file: 'pipeline.yaml', line: 5, col: 11, length: 4 },
    },
  });
  emit({ type: 'stage-finished', stage: 'evaluate@bright-dark', durationMs: 800 });
  for (const x of ['a', 'b', 'c', 'd', 'e', 'f']) emit({ type: 'stage-not-run', stage: `report@${x}`, because: 'train@bright failed' });
  emit({
    type: 'run-finished',
    failures: [],
    summary: {
      ran: ['train@dark', 'evaluate@bright-dark'],
      restored: ['deglare@dark'],
      upToDate: ['synth'],
      failed: ['train@bright'],
      notRun: ['report@a', 'report@b', 'report@c', 'report@d', 'report@e', 'report@f'],
      durationMs: Date.now() - t0,
    },
  });
  await reporter.close?.();
}

await main();
