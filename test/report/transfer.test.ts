/** Push/pull progress as every reporter shows it: plain lines, the Ink model and view, JSON lines. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { PipeEvent } from '../../src/events.ts';
import { createPlainReporter } from '../../src/report/plain.ts';
import { createJsonReporter } from '../../src/report/json.ts';
import { applyEvent, emptyModel } from '../../src/report/ink/model.ts';
import { liveLines, staticText } from '../../src/report/ink/view.ts';
import { formatBytes } from '../../src/report/format-transfer.ts';

const T0 = new Date(2026, 10, 30, 12, 0, 0).getTime();
const MB = 1 << 20;
const events: PipeEvent[] = [
  { type: 'transfer-started', time: T0, remote: 'nas', direction: 'push', objects: 40, bytes: 40 * MB, present: 7 },
  ...Array.from({ length: 40 }, (_, i): PipeEvent => ({
    type: 'transfer-progress',
    time: T0 + (i + 1) * 500,
    remote: 'nas',
    direction: 'push',
    objects: i + 1,
    bytes: (i + 1) * MB,
    totalObjects: 40,
    totalBytes: 40 * MB,
    bytesPerSecond: 2 * MB,
  })),
  { type: 'transfer-finished', time: T0 + 20_000, remote: 'nas', direction: 'push', objects: 40, bytes: 40 * MB, durationMs: 20_000 },
];

function capture() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { out, text: () => text };
}

describe('transfer progress', () => {
  it('formats bytes in binary units', () => {
    expect([formatBytes(0), formatBytes(1536), formatBytes(40 * MB), formatBytes(3.25 * 1024 * MB)]).toEqual(['0 B', '1.5 KB', '40 MB', '3.3 GB']);
  });

  it('plain: a line to start, progress every 5 s, a line to finish with the rate', async () => {
    const cap = capture();
    const r = createPlainReporter(cap.out, { color: false });
    for (const e of events) r.onEvent(e);
    await r.close?.();
    const lines = cap.text().trimEnd().split('\n');
    expect(lines[0]).toBe('12:00:00 push     push to nas: 40 files, 40 MB (7 already there)');
    expect(lines).toContain('12:00:00 push     push to nas: 2% 1/40 files, 1.0 MB/40 MB, 2.0 MB/s');
    expect(lines.filter((l) => l.includes('%')).length).toBe(4); // 20 s of progress: at most one line per 5 s
    expect(lines.at(-1)).toBe('12:00:20 push     push to nas: 40 files, 40 MB in 20.0s, 2.0 MB/s');
  });

  it('Ink: the transfer under way is a live line; start and finish are kept', () => {
    const m = emptyModel();
    const view = { color: false, now: T0, frame: 0, columns: 100, rows: 24 };
    for (const e of events.slice(0, 11)) applyEvent(m, e);
    expect(liveLines(m, view)).toEqual(['⇅ push to nas: 25% 10/40 files, 10 MB/40 MB, 2.0 MB/s']);
    for (const e of events.slice(11)) applyEvent(m, e);
    expect(liveLines(m, view)).toEqual([]);
    expect(m.staticItems.map((i) => staticText(i, 10, view))).toEqual([
      '⇅ push to nas: 40 files, 40 MB (7 already there)',
      '⇅ push to nas: 40 files, 40 MB in 20.0s, 2.0 MB/s',
    ]);
  });

  it('JSON: each event as one line', async () => {
    const cap = capture();
    const r = createJsonReporter(cap.out);
    r.onEvent(events.at(-1)!);
    await r.close?.();
    expect(JSON.parse(cap.text())).toMatchObject({ type: 'transfer-finished', remote: 'nas', direction: 'push', objects: 40, bytes: 40 * MB });
  });
});
