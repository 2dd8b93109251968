import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chooseReporter, createReporter } from '../../src/report/create.ts';
import { shouldColor } from '../../src/report/color.ts';
import { at } from './events-fixture.ts';

function stream(isTTY: boolean): NodeJS.WriteStream & { text(): string } {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & { text(): string };
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString()));
  Object.assign(s, { isTTY, columns: 80, rows: 24, text: () => text });
  return s;
}

describe('createReporter', () => {
  it('chooses json, ink or plain from the flag, the terminal and the environment', () => {
    expect(chooseReporter({ json: true, stdout: { isTTY: true }, env: {} })).toBe('json');
    expect(chooseReporter({ json: false, stdout: { isTTY: true }, env: { TERM: 'xterm-256color' } })).toBe('ink');
    expect(chooseReporter({ json: false, stdout: { isTTY: true }, env: { CI: 'true' } })).toBe('plain');
    expect(chooseReporter({ json: false, stdout: { isTTY: true }, env: { CI: '0' } })).toBe('ink');
    expect(chooseReporter({ json: false, stdout: { isTTY: true }, env: { TERM: 'dumb' } })).toBe('plain');
    expect(chooseReporter({ json: false, stdout: { isTTY: false }, env: {} })).toBe('plain');
  });

  it('colours plain output only on a terminal, honouring NO_COLOR and FORCE_COLOR', () => {
    expect(shouldColor({ isTTY: true }, {})).toBe(true);
    expect(shouldColor({ isTTY: false }, {})).toBe(false);
    expect(shouldColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(shouldColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(shouldColor({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
    expect(shouldColor({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });

  it('plain in CI on a TTY (coloured unless NO_COLOR), JSON lines with --json', async () => {
    const e = { type: 'stage-up-to-date' as const, time: at(8, 0, 0), stage: 'synth' };
    const ci = stream(true);
    const r1 = createReporter({ json: false, stdout: ci, stderr: stream(true), env: { CI: '1' } });
    r1.onEvent(e);
    await r1.close?.();
    expect(ci.text()).toMatch(/\u001b\[/);
    expect(ci.text().replace(/\u001b\[[0-9;]*m/g, '')).toBe('08:00:00 up-to-date synth\n');

    const noColor = stream(true);
    const r2 = createReporter({ json: false, stdout: noColor, stderr: stream(true), env: { CI: '1', NO_COLOR: '1' } });
    r2.onEvent(e);
    expect(noColor.text()).toBe('08:00:00 up-to-date synth\n');

    const json = stream(false);
    const r3 = createReporter({ json: true, stdout: json, stderr: stream(false), env: {} });
    r3.onEvent(e);
    await r3.close?.();
    expect(JSON.parse(json.text())).toEqual({ ...e, time: new Date(e.time).toISOString() });
  });

  it('loads Ink lazily on a terminal, replaying events that came while it loaded', async () => {
    const tty = stream(true);
    const r = createReporter({ json: false, stdout: tty, stderr: stream(true), env: { TERM: 'xterm', NO_COLOR: '1' } });
    r.onEvent({ type: 'stage-up-to-date', time: at(8, 0, 0), stage: 'synth' });
    r.onEvent({
      type: 'run-finished',
      time: at(8, 0, 1),
      failures: [],
      summary: { ran: [], restored: [], upToDate: ['synth'], failed: [], notRun: [], durationMs: 1000 },
    });
    await r.close?.();
    const text = tty.text().replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    expect(text).toContain('✓ synth');
    expect(text).toContain('ran 0, restored 0, up to date 1, failed 0, not run 0 in 1.0s');
  });
});
