import { EventEmitter } from 'node:events';
import { createElement } from 'react';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { PipeEvent } from '../../src/events.ts';
import { createInkReporter } from '../../src/report/ink/index.ts';
import { App } from '../../src/report/ink/app.tsx';
import { applyEvent, emptyModel } from '../../src/report/ink/model.ts';
import { at, planned, scriptedRun, yamlText } from './events-fixture.ts';

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Enough of a WriteStream for Ink: size, write, resize events. */
class FakeTerminal extends EventEmitter {
  columns = 100;
  rows = 40;
  frames: string[] = [];
  write = (s: string) => {
    this.frames.push(s);
    return true;
  };
  lastFrame = () => this.frames.at(-1) ?? '';
}

function setup() {
  const term = new FakeTerminal();
  let now = at(12, 3, 4);
  const reporter = createInkReporter({
    stdout: term as unknown as NodeJS.WriteStream,
    readSource: (f) => (f === 'pipeline.yaml' ? yamlText : undefined),
    clock: () => now,
    color: false,
    debug: true,
    tickMs: 10_000,
  });
  const feed = (e: PipeEvent) => {
    now = e.time;
    reporter.onEvent(e);
  };
  return { term, reporter, feed, setNow: (t: number) => (now = t) };
}

describe('Ink reporter', () => {
  it('shows a row per stage with bar, count, rate, ETA, values and last log lines; keeps finished rows', async () => {
    const { term, reporter, feed, setNow } = setup();
    const events = scriptedRun();
    const upTo = (pred: (e: PipeEvent) => boolean) => {
      while (events.length && !pred(events[0]!)) feed(events.shift()!);
    };
    // Up to the first progress report: ETA comes from the lock's last duration.
    upTo((e) => e.type === 'stage-progress');
    setNow(at(12, 3, 10));
    feed({ type: 'stage-log', time: at(12, 3, 10), stage: 'train@dark', stream: 'stdout', line: 'still loading' });
    // Log and progress lines are drawn within a short coalescing delay, not per event.
    await sleep(200);
    let frame = term.lastFrame();
    expect(frame).toContain('✓ synth');
    expect(frame).toContain('↓ evaluate@dark');
    expect(frame).toMatch(/train@dark\s+6s\s+ETA ~54\.0s/);
    expect(frame).toContain('○ report@bright');
    expect(frame).toContain('    still loading');

    // Ten steps per 0.5 s: 20 steps/s; at step 100, 100 steps left: ETA 5 s.
    upTo((e) => e.type === 'stage-progress' && e.progress.step === 110);
    // A structural event (a warning) draws at once.
    feed({ type: 'warning', time: at(12, 3, 10), message: 'cache is 91% full' });
    frame = term.lastFrame();
    expect(frame).toMatch(/train@dark\s+█+░+ 100\/200\s+6s\s+20\/s\s+ETA 5\.0s\s+loss=0\.1 lr=0\.01/);
    expect(frame).toContain('⚠ cache is 91% full');
    expect(frame).toContain('    loading 120 images');

    // The failure moves train@bright to the finished rows, with the excerpt and squiggle.
    upTo((e) => e.type === 'stage-not-run');
    feed(events.shift()!);
    frame = term.lastFrame();
    expect(frame).toContain('✖ train@bright');
    expect(frame).toMatch(/pipeline\.yaml:4:11 - error: param 'lr'/);
    expect(frame).toMatch(/\| +\^~~~/);
    expect(frame).toContain('– report@bright');

    while (events.length) feed(events.shift()!);
    frame = term.lastFrame();
    // Rows finished earlier are still there after later events, in the order they finished.
    const order = ['✓ synth', '↓ evaluate@dark', '✖ train@bright', '– report@bright', '✔ train@dark'].map((s) => frame.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(frame).toMatch(/✔ train@dark\s+done 1m 06s\s+loss=0\.05 lr=0\.01/);
    expect(frame).toContain('error: could not write pipeline.lock: disk full');
    expect(frame).toContain('ran 1, restored 1, up to date 1, failed 1, not run 1 in 1m 12s');
    // The live area is gone once the run is over.
    expect(frame).not.toContain('○ report@bright');
    expect(frame).not.toContain('still loading');

    await reporter.close?.();
    const written = term.frames.length;
    feed({ type: 'warning', time: at(12, 5, 0), message: 'after close' });
    expect(term.frames.length).toBe(written);
  });

  it('redraws running stages on its ticker (spinner, elapsed time) and stops ticking when done', async () => {
    const term = new FakeTerminal();
    let now = at(9, 0, 0);
    const r = createInkReporter({ stdout: term as unknown as NodeJS.WriteStream, clock: () => now, color: false, debug: true, tickMs: 20 });
    r.onEvent({ type: 'stage-started', time: now, stage: 'synth', reasons: [], executor: 'in-process' });
    now += 3000;
    await sleep(200);
    expect(term.lastFrame()).toMatch(/synth\s+3s/);
    r.onEvent({ type: 'stage-finished', time: now, stage: 'synth', durationMs: 3000 });
    const n = term.frames.length;
    await sleep(100);
    expect(term.frames.length).toBe(n);
    await r.close?.();
  });

  it('fits the live area into a short terminal and truncates long rows instead of wrapping', async () => {
    const term = new FakeTerminal();
    term.columns = 80;
    term.rows = 10;
    const r = createInkReporter({ stdout: term as unknown as NodeJS.WriteStream, clock: () => at(9, 0, 1), color: false, debug: true, tickMs: 10_000 });
    const stages = Array.from({ length: 30 }, (_, i) => ({ stage: `evaluate@bright-dark-${i}`, action: 'run' as const, reasons: [] }));
    r.onEvent({ type: 'run-planned', time: at(9, 0, 0), stages, jobs: 2, gpus: [], dryRun: false });
    for (const i of [0, 1]) {
      r.onEvent({ type: 'stage-started', time: at(9, 0, 0), stage: `evaluate@bright-dark-${i}`, reasons: [], executor: 'in-process' });
      for (let k = 0; k < 5; k++) r.onEvent({ type: 'stage-log', time: at(9, 0, 0), stage: `evaluate@bright-dark-${i}`, stream: 'stdout', line: 'x'.repeat(200) });
    }
    r.onEvent({ type: 'warning', time: at(9, 0, 1), message: 'redraw' });
    const live = term.lastFrame().split('\n').slice(2).filter((l) => l !== '');
    expect(live.length).toBeLessThanOrEqual(8);
    expect(live.some((l) => l.includes('more waiting'))).toBe(true);
    for (const l of live) expect(l.length).toBeLessThanOrEqual(80);
    await r.close?.();
  });
});

describe('Ink App under ink-testing-library', () => {
  it('renders the model: finished rows in <Static>, the rest live', () => {
    const model = emptyModel();
    const view = { color: false, now: at(12, 3, 14), frame: 0, columns: 100, rows: 40 };
    const { lastFrame, rerender, unmount } = render(createElement(App, { model, view }));
    applyEvent(model, { type: 'run-planned', time: at(12, 3, 4), stages: planned, jobs: 2, gpus: ['0'], dryRun: false });
    applyEvent(model, { type: 'stage-started', time: at(12, 3, 4), stage: 'train@dark', reasons: [], executor: 'child', gpu: '0' });
    applyEvent(model, { type: 'stage-progress', time: at(12, 3, 4), stage: 'train@dark', progress: { step: 0, total: 4 } });
    applyEvent(model, { type: 'stage-progress', time: at(12, 3, 14), stage: 'train@dark', progress: { step: 1, total: 4 } });
    rerender(createElement(App, { model, view }));
    expect(lastFrame()).toContain('pipe run: 5 stages');
    expect(lastFrame()).toMatch(/train@dark\s+█+░+ 1\/4\s+10s\s+10\.0s\/step\s+ETA 30\.0s\s+gpu 0/);
    applyEvent(model, { type: 'stage-finished', time: at(12, 3, 50), stage: 'train@dark', durationMs: 46_000 });
    applyEvent(model, { type: 'stage-up-to-date', time: at(12, 3, 50), stage: 'synth' });
    rerender(createElement(App, { model, view }));
    expect(lastFrame()).toMatch(/✔ train@dark\s+done 46\.0s[\s\S]*✓ synth\s+up to date/);
    unmount();
  });
});
