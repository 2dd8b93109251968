import { describe, expect, it } from 'vitest';
import type { PlannedStage, Reason } from '../../src/events.ts';
import { formatReason, formatStatus, statusState } from '../../src/report/format-status.ts';

// One example per kind: a Record keyed by the union makes a new kind a type error here too.
const examples: { [K in Reason['kind']]: [Extract<Reason, { kind: K }>, string] } = {
  'never-run': [{ kind: 'never-run' }, 'never run'],
  forced: [{ kind: 'forced' }, 'forced (--force)'],
  'code-changed': [{ kind: 'code-changed', what: "stage 'train'" }, "code of stage 'train' changed"],
  'command-changed': [
    { kind: 'command-changed', old: 'python a.py', new: 'python a.py --fast' },
    'command changed: python a.py -> python a.py --fast',
  ],
  'param-changed': [{ kind: 'param-changed', key: 'lr', old: 0.1, new: 0.01 }, 'param lr: 0.1 -> 0.01'],
  'dep-changed': [
    { kind: 'dep-changed', path: 'data/x', added: ['c.png'], removed: [], modified: ['a.png', 'b.png'] },
    'dep data/x changed: 2 modified (a.png, b.png), 1 added (c.png)',
  ],
  'dep-added': [{ kind: 'dep-added', path: 'data/y' }, 'dep data/y added'],
  'dep-removed': [{ kind: 'dep-removed', path: 'data/z' }, 'dep data/z removed'],
  'out-missing': [{ kind: 'out-missing', path: 'models/dark' }, 'out models/dark missing'],
  'out-modified': [{ kind: 'out-modified', path: 'models/dark' }, 'out models/dark modified since the last run'],
  'upstream-changed': [{ kind: 'upstream-changed', stage: 'synth' }, 'upstream synth changed'],
};

describe('formatReason', () => {
  it.each(Object.values(examples))('%o', (reason, text) => {
    expect(formatReason(reason)).toBe(text);
  });

  it('throws on a kind it does not know (the switch is exhaustive, not silently defaulted)', () => {
    expect(() => formatReason({ kind: 'bogus' } as unknown as Reason)).toThrow(/unreachable/);
  });

  it('shows unset params, quotes odd strings, cuts long values and long file lists', () => {
    expect(formatReason({ kind: 'param-changed', key: 'opt.name', old: undefined, new: 'adam' })).toBe(
      'param opt.name: (unset) -> adam',
    );
    expect(formatReason({ kind: 'param-changed', key: 'aug', old: 'a b', new: [1, 2] })).toBe('param aug: "a b" -> [1,2]');
    const long = formatReason({ kind: 'param-changed', key: 'files', old: [], new: Array.from({ length: 100 }, (_, i) => `f${i}`) });
    expect(long.length).toBeLessThan(90);
    expect(long.endsWith('…')).toBe(true);
    const many = formatReason({
      kind: 'dep-changed',
      path: 'img',
      added: [],
      removed: ['r.png'],
      modified: ['1.png', '2.png', '3.png', '4.png', '5.png'],
    });
    expect(many).toBe('dep img changed: 5 modified (1.png, 2.png, 3.png, …), 1 removed (r.png)');
    expect(formatReason({ kind: 'code-changed', what: 'stage definition (outs, env, wdir or pipe version)' })).toBe(
      'stage definition (outs, env, wdir or pipe version) changed',
    );
  });
});

describe('formatStatus', () => {
  const planned: PlannedStage[] = [
    { stage: 'synth', action: 'up-to-date', reasons: [] },
    { stage: 'train@dark', action: 'run', reasons: [examples['param-changed'][0], examples['code-changed'][0]] },
    { stage: 'train@bright', action: 'run', reasons: [{ kind: 'never-run' }] },
    { stage: 'evaluate@bright-dark', action: 'restore', reasons: [{ kind: 'upstream-changed', stage: 'train@dark' }] },
  ];

  it('lists each stage with its state and its reasons one per line underneath', () => {
    const out = formatStatus(planned, { color: false });
    expect(out).not.toMatch(/\u001b\[/);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^stage\s+state$/);
    expect(lines[1]).toMatch(/^synth\s+up to date$/);
    expect(lines[2]).toMatch(/^train@dark\s+stale$/);
    expect(lines[3]).toBe('    - param lr: 0.1 -> 0.01');
    expect(lines[4]).toBe("    - code of stage 'train' changed");
    expect(lines[5]).toMatch(/^train@bright\s+never run$/);
    expect(lines[7]).toMatch(/^evaluate@bright-dark\s+restorable from cache$/);
    expect(lines[8]).toBe('    - upstream train@dark changed');
    // States start in one column.
    const col = (l: string | undefined) => (l ?? '').search(/(up to date|stale|never run|restorable)/);
    expect(new Set([col(lines[1]), col(lines[2]), col(lines[5]), col(lines[7])]).size).toBe(1);
    expect(lines.at(-1)).toBe('4 stages: 1 up to date, 1 stale, 1 never run, 1 restorable from cache');
  });

  it('colours states when asked', () => {
    expect(formatStatus(planned, { color: true })).toContain('\u001b[32mup to date');
    expect(statusState({ stage: 'x', action: 'run', reasons: [{ kind: 'forced' }] })).toBe('stale');
    expect(formatStatus([], { color: false })).toBe('no stages');
  });
});
