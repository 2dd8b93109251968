/** The study table, value diffs and HTML escaping: pure functions, table-tested. */
import { describe, expect, it } from 'vitest';
import { isBest, percent, splitSetName, studyTable } from '../../src/metrics/study-table.ts';
import { diffMetrics, flattenParams, formatDelta, formatValue } from '../../src/metrics/diff.ts';
import type { MetricsRow } from '../../src/metrics/collect.ts';
import { esc } from '../../src/report-html/escape.ts';
import { parseCurveCsv } from '../../src/report-html/collect.ts';

const row = (stage: string, bindings: Record<string, string>, values: MetricsRow['values'], file = 'm.json'): MetricsRow => ({ stage, bindings, file, values });

describe('splitSetName', () => {
  it.each([
    ['dark', { set: 'dark', prep: 'none' }],
    ['dark-deglared', { set: 'dark', prep: 'deglared' }],
    ['dark-clahe-gamma', { set: 'dark', prep: 'clahe-gamma' }],
    ['-odd', { set: '-odd', prep: 'none' }],
  ])('%s', (name, want) => expect(splitSetName(name)).toEqual(want));
});

describe('studyTable', () => {
  const rows = [
    row('evaluate@bright-bright', { train: 'bright', test: 'bright' }, { meanIoU: 0.894, 'iou.background': 0.97, 'iou.valve': 0.8 }),
    row('evaluate@dark-dark-deglared', { train: 'dark', test: 'dark-deglared' }, { mIoU: 0.727, 'iou.background': 0.97, 'iou.valve': 0.85, 'iou.pipe': 0.4 }),
    row('train@dark', { item: 'dark' }, { finalLoss: 0.3 }),
    row('evaluate@x-y', { train: 'x', test: 'y' }, { backend: 'cpu' }),
  ];
  const t = studyTable(rows);

  it('keeps evaluations with train/test bindings and a score, splitting set and preprocessing', () => {
    expect(t.rows.map((r) => r.stage)).toEqual(['evaluate@bright-bright', 'evaluate@dark-dark-deglared']);
    expect(t.rows[1]!.train).toEqual({ set: 'dark', prep: 'none' });
    expect(t.rows[1]!.test).toEqual({ set: 'dark', prep: 'deglared' });
    expect(t.rows[1]!.miou).toBe(0.727);
    expect(t.classes).toEqual(['background', 'valve', 'pipe']);
  });

  it('marks the best value of each column, ties included', () => {
    expect(isBest(t, 'mIoU', 0.894)).toBe(true);
    expect(isBest(t, 'mIoU', 0.727)).toBe(false);
    expect(isBest(t, 'iou.valve', 0.85)).toBe(true);
    expect(isBest(t, 'iou.background', t.rows[0]!.iou.background)).toBe(true);
    expect(isBest(t, 'iou.background', t.rows[1]!.iou.background)).toBe(true);
    expect(isBest(t, 'iou.pipe', t.rows[0]!.iou.pipe)).toBe(false); // missing is never best
  });

  it('formats percentages like the study', () => {
    expect(percent(0.7265)).toBe('72.7%');
    expect(percent(undefined)).toBe('-');
  });
});

describe('diffMetrics', () => {
  it('lists changed, added and removed values with numeric deltas, and unreadable files', () => {
    const before = [row('s', {}, { a: 1, b: 0.5, c: 'x', gone: 3 }), { ...row('t', {}, {}), error: 'object missing' }];
    const after = [row('s', {}, { a: 1, b: 0.75, c: 'y', added: true }), row('t', {}, { z: 2 })];
    expect(diffMetrics(before, after)).toEqual([
      { stage: 's', file: 'm.json', key: 'b', old: 0.5, new: 0.75, delta: 0.25 },
      { stage: 's', file: 'm.json', key: 'c', old: 'x', new: 'y' },
      { stage: 's', file: 'm.json', key: 'added', new: true },
      { stage: 's', file: 'm.json', key: 'gone', old: 3 },
      { stage: 't', file: 'm.json', key: '(file)', note: 'before: object missing' },
      { stage: 't', file: 'm.json', key: 'z', new: 2 },
    ]);
  });
});

describe('formatting', () => {
  it.each([
    [0.123456, '0.1235'],
    [12, '12'],
    [undefined, '-'],
    ['cpu', 'cpu'],
  ])('formatValue(%s)', (v, want) => expect(formatValue(v as never)).toBe(want));
  it.each([
    [0.25, '+0.25'],
    [-0.0012345, '-0.00123'],
    [-2, '-2'],
    [0, '0'],
    [undefined, ''],
  ])('formatDelta(%s)', (v, want) => expect(formatDelta(v)).toBe(want));
  it('flattens params to dotted keys, arrays as JSON', () => {
    expect(flattenParams({ lr: 0.1, aug: { flip: true, scale: [0.5, 2] }, empty: {} })).toEqual({ lr: 0.1, 'aug.flip': true, 'aug.scale': '[0.5,2]', empty: '{}' });
  });
  it('escapes HTML', () => {
    expect(esc(`<img src=x onerror="a('b')">&`)).toBe('&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;');
  });
});

describe('parseCurveCsv', () => {
  it('reads step, loss and lr by header name and skips bad lines', () => {
    expect(parseCurveCsv('step,loss,lr,imagesPerSec\n1,2.5,0.001,3\nx,1,1,1\n2,2.0,0.0009,3\n')).toEqual([
      { step: 1, loss: 2.5, lr: 0.001 },
      { step: 2, loss: 2, lr: 0.0009 },
    ]);
    expect(parseCurveCsv('epoch,acc\n1,0.5\n')).toEqual([]);
  });
  it('thins long curves but keeps the last point', () => {
    const text = ['step,loss', ...Array.from({ length: 1000 }, (_, i) => `${i + 1},${1 / (i + 1)}`)].join('\n');
    const pts = parseCurveCsv(text);
    expect(pts.length).toBeLessThanOrEqual(400);
    expect(pts.at(-1)!.step).toBe(1000);
  });
});
