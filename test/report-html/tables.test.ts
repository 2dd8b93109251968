/** Declared tables, value diffs, CSV columns and HTML escaping: pure functions, table-tested. */
import { describe, expect, it } from 'vitest';
import { cellText, collectTables } from '../../src/metrics/tables.ts';
import { diffMetrics, flattenParams, formatDelta, formatValue } from '../../src/metrics/diff.ts';
import type { MetricsRow } from '../../src/metrics/collect.ts';
import type { Graph } from '../../src/graph.ts';
import type { StageInstance } from '../../src/model.ts';
import type { TableView } from '../../src/report-views.ts';
import { esc } from '../../src/report-html/escape.ts';
import { parseCsvColumns } from '../../src/report-html/collect.ts';

const row = (stage: string, bindings: Record<string, string>, values: MetricsRow['values'], file = 'm.json'): MetricsRow => ({ stage, bindings, file, values });

/** A graph of stages that only declare report views, and their files in memory. */
function graphOf(stages: [name: string, views: TableView[]][]): Graph {
  const m = new Map(stages.map(([name, report]) => [name, { name, report } as unknown as StageInstance]));
  return { order: stages.map(([n]) => n), stages: m } as unknown as Graph;
}

describe('collectTables', () => {
  const columns: TableView['columns'] = [
    { label: 'mIoU', key: 'meanIoU', format: 'percent', best: 'max' },
    { label: 'IoU *', key: 'iou.*', format: 'percent', best: 'max', absentIf: 'classAccuracy.*' },
    { label: 'loss', key: 'loss', best: 'min' },
  ];
  const view = (file: string, train: string, test: string): TableView => ({ table: 'Scores', file, row: { train, test }, columns, bestWithin: ['test'] });
  const files: Record<string, unknown> = {
    'a.json': { meanIoU: 0.9, iou: { bg: 0.95, valve: 0.8 }, classAccuracy: { bg: 1, valve: 0.9 }, loss: 0.2 },
    'b.json': { meanIoU: 0.5, iou: { bg: 0.9, valve: 0 }, classAccuracy: { bg: 1, valve: null }, loss: 0.2 },
    'c.json': { meanIoU: 0.6, iou: { bg: 0.7, valve: 0.3, pipe: 0.2 }, classAccuracy: { bg: 1, valve: 0.5, pipe: 0 }, loss: 0.5 },
    'd.json': { meanIoU: 0.7, iou: { bg: 0.6, valve: 0.4, pipe: null }, loss: 0.3 },
    'bad.json': '{not json',
  };
  const read = async (abs: string) => {
    const f = Object.keys(files).find((k) => abs.endsWith('/' + k));
    if (!f) throw Object.assign(new Error('absent'), { code: 'ENOENT' });
    return typeof files[f] === 'string' ? (files[f] as string) : JSON.stringify(files[f]);
  };
  const g = graphOf([
    ['e@x-bright', [view('a.json', 'x', 'bright')]],
    ['e@y-bright', [view('b.json', 'y', 'bright')]],
    ['e@x-dark', [view('c.json', 'x', 'dark')]],
    ['e@y-dark', [view('d.json', 'y', 'dark')]],
    ['e@z-dark', [view('missing.json', 'z', 'dark')]],
    ['e@broken', [view('bad.json', 'w', 'dark')]],
  ]);

  it('makes one row per instance that wrote its file, columns expanded per sub-key in first-seen order', async () => {
    const [t] = await collectTables(g, '/repo', read);
    expect(t!.title).toBe('Scores');
    expect(t!.rowKeys).toEqual(['train', 'test']);
    expect(t!.columns.map((c) => c.label)).toEqual(['mIoU', 'IoU bg', 'IoU valve', 'loss', 'IoU pipe']);
    expect(t!.rows.map((r) => r.stage)).toEqual(['e@x-bright', 'e@y-bright', 'e@x-dark', 'e@y-dark']);
    expect(t!.errors).toEqual([expect.stringContaining('bad.json is not valid JSON')]);
  });

  it('says "absent" where the absentIf key is null, or the value itself is null (not where it is 0); "-" where a key is missing', async () => {
    const [t] = await collectTables(g, '/repo', read);
    const [xb, yb, xd, yd] = t!.rows;
    expect(yb!.cells['IoU valve']).toEqual({ absent: true });
    expect(xb!.cells['IoU valve']).toEqual({ value: 0.8 });
    expect(yd!.cells['IoU pipe']).toEqual({ absent: true });
    expect(xb!.cells['IoU pipe']).toEqual({ missing: true });
    expect(xd!.cells.loss).toEqual({ value: 0.5 });
    // 0 at the absentIf key is a score (a class present but never found), not "absent".
    expect(xd!.cells['IoU pipe']).toEqual({ value: 0.2 });
    const col = t!.columns.find((c) => c.label === 'IoU valve')!.column;
    expect(cellText(yb!.cells['IoU valve'], col)).toBe('absent');
    expect(cellText(xb!.cells['IoU valve'], col)).toBe('80.0%');
    expect(cellText(xb!.cells['IoU pipe'], col)).toBe('-');
  });

  it('marks the best cell per column only among rows with the same test set; absent, lone and all-equal cells are never best', async () => {
    const [t] = await collectTables(g, '/repo', read);
    const best = Object.fromEntries(t!.rows.map((r) => [r.stage, [...r.best].sort()]));
    expect(best).toEqual({
      // bright: mIoU 0.9 > 0.5; bg 0.95 > 0.9; valve: b's is absent, so a's 0.8 is alone; loss: both 0.2.
      'e@x-bright': ['IoU bg', 'mIoU'],
      'e@y-bright': [],
      // dark: y's mIoU 0.7 is best here although x scored 0.9 on bright; pipe: d's is absent; loss: lower is better.
      'e@x-dark': ['IoU bg'],
      'e@y-dark': ['IoU valve', 'loss', 'mIoU'],
    });
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

describe('parseCsvColumns', () => {
  it('reads columns by header name; cells that are not numbers are NaN', () => {
    const cols = parseCsvColumns('step,loss,lr\n1,2.5,0.001\nx,1,\n2,2.0,0.0009\n');
    expect([...cols.keys()]).toEqual(['step', 'loss', 'lr']);
    expect(cols.get('loss')).toEqual([2.5, 1, 2]);
    expect(cols.get('step')).toEqual([1, NaN, 2]);
    expect(cols.get('lr')).toEqual([0.001, NaN, 0.0009]);
  });
});
