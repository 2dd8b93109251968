import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createPlainReporter } from '../../src/report/plain.ts';
import { scriptedRun, yamlText } from './events-fixture.ts';

function capture() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { out, text: () => text };
}

describe('plain reporter', () => {
  it('writes one timestamped line per event, throttles progress, and ends with the summary', async () => {
    const cap = capture();
    const r = createPlainReporter(cap.out, { color: false, readSource: (f) => (f === 'pipeline.yaml' ? yamlText : undefined) });
    for (const e of scriptedRun()) r.onEvent(e);
    await r.close?.();
    const text = cap.text();
    expect(text).not.toMatch(/\u001b\[/);
    const lines = text.trimEnd().split('\n');
    expect(lines.slice(0, 5)).toEqual([
      '12:03:04 plan     5 stages: 3 to run, 1 to restore, 1 up to date (jobs 2)',
      '12:03:04 up-to-date synth',
      '12:03:04 restored evaluate@dark from cache',
      '12:03:04 run      train@dark  (param lr: 0.1 -> 0.01)',
      '12:03:04 run      train@bright  (never run)',
    ]);
    expect(lines).toContain('12:03:05 out      train@dark | loading 120 images');
    // 20 progress events over 10 s: the first, one per 5 s after it, the last (step == total).
    const progress = lines.filter((l) => l.includes(' progress '));
    expect(progress).toEqual([
      '12:03:05 progress train@dark 10/200 loss=1 lr=0.01',
      '12:03:10 progress train@dark 110/200 loss=0.0909 lr=0.01',
      '12:03:15 progress train@dark 200/200 loss=0.05 lr=0.01',
    ]);
    const failedAt = lines.indexOf('12:03:09 failed   train@bright after 5.0s');
    expect(failedAt).toBeGreaterThan(0);
    expect(lines[failedAt + 1]).toBe("  pipeline.yaml:4:11 - error: param 'lr' of stage train@bright must be a number, not 'fast'");
    expect(lines[failedAt + 3]).toMatch(/^ +\| +\^~~~$/);
    expect(lines).toContain('12:03:09 not run  report@bright (train@bright failed)');
    expect(lines).toContain('12:03:10 warning  cache is 91% full');
    expect(lines).toContain('12:04:10 done     train@dark 1m 06s');
    // The stage failure is not repeated at the end; the run-level one is printed.
    expect(text.match(/must be a number/g)).toHaveLength(1);
    expect(lines).toContain('  error: could not write pipeline.lock: disk full');
    expect(lines.at(-2)).toBe('ran 1, restored 1, up to date 1, failed 1, not run 1 in 1m 12s');
    expect(lines.at(-1)).toBe('failed: train@bright');
  });

  it('prints a held-back progress line before the stage ends', () => {
    const cap = capture();
    const r = createPlainReporter(cap.out, { color: false });
    const t0 = new Date(2025, 0, 1, 9, 0, 0).getTime();
    r.onEvent({ type: 'stage-progress', time: t0, stage: 's', progress: { step: 1, total: 10 } });
    r.onEvent({ type: 'stage-progress', time: t0 + 1000, stage: 's', progress: { step: 2, total: 10 } });
    r.onEvent({ type: 'stage-progress', time: t0 + 2000, stage: 's', progress: { step: 3, total: 10, message: 'epoch 1' } });
    r.onEvent({ type: 'stage-finished', time: t0 + 2500, stage: 's', durationMs: 2500 });
    expect(cap.text().split('\n').filter(Boolean)).toEqual([
      '09:00:00 progress s 1/10',
      '09:00:02 progress s 3/10 epoch 1',
      '09:00:02 done     s 2.5s',
    ]);
  });

  it('uses the injected clock, and colours only when asked', () => {
    const cap = capture();
    const r = createPlainReporter(cap.out, { color: true, clock: () => new Date(2025, 0, 1, 23, 59, 58) });
    r.onEvent({ type: 'stage-up-to-date', time: 0, stage: 'synth' });
    r.onEvent({ type: 'run-planned', time: 0, stages: [{ stage: 'a', action: 'run', reasons: [{ kind: 'forced' }] }], jobs: 1, gpus: ['0', '1'], dryRun: true });
    const text = cap.text();
    expect(text).toMatch(/\u001b\[/);
    const plain = text.replace(/\u001b\[[0-9;]*m/g, '');
    expect(plain.split('\n')).toEqual([
      '23:59:58 up-to-date synth',
      '23:59:58 dry-run  1 stage: 1 to run, 0 to restore, 0 up to date (jobs 1, gpus 0,1)',
      '23:59:58 would run a  (forced (--force))',
      '',
    ]);
  });
});
