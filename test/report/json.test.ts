import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createJsonReporter } from '../../src/report/json.ts';
import { scriptedRun } from './events-fixture.ts';

describe('JSON lines reporter', () => {
  it('writes every event as one parseable line, time as ISO, run-finished last', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const r = createJsonReporter(out);
    const events = scriptedRun();
    for (const e of events) r.onEvent(e);
    await r.close?.();
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(events.length);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    parsed.forEach((p, i) => {
      const e = events[i]!;
      expect(p.time).toBe(new Date(e.time).toISOString());
      expect({ ...p, time: e.time }).toEqual(JSON.parse(JSON.stringify(e)));
    });
    const last = parsed.at(-1) as { type: string; summary: { failed: string[] } };
    expect(last.type).toBe('run-finished');
    expect(last.summary.failed).toEqual(['train@bright']);
  });
});
