import { describe, expect, it } from 'vitest';
import { formatDuration, formatTable, loadTextWidthFor, textWidth } from '../../src/report/format-table.ts';
import { palette } from '../../src/report/color.ts';

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [999.4, '999ms'],
    [999.6, '1.0s'],
    [12_340, '12.3s'],
    [59_940, '59.9s'],
    [59_960, '1m 00s'],
    [66_100, '1m 06s'],
    [245_000, '4m 05s'],
    [3_599_400, '59m 59s'],
    [3_599_600, '1h 00m'],
    [3_720_000, '1h 02m'],
    [-5, '0ms'],
    [Number.NaN, '0ms'],
  ])('%s ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatTable', () => {
  it('aligns columns, right-aligns where asked and trims trailing spaces', () => {
    const t = formatTable(
      ['stage', 'loss', 'note'],
      [
        ['train@dark', '0.53', ''],
        ['evaluate@bright-dark', '12.125', 'best'],
      ],
      { align: ['left', 'right'] },
    );
    expect(t.split('\n')).toEqual([
      'stage                   loss  note',
      'train@dark              0.53',
      'evaluate@bright-dark  12.125  best',
    ]);
  });

  it('counts plain ASCII and accented text without the Unicode tables, ignoring colour codes', () => {
    const c = palette(true);
    expect(textWidth('train@dark')).toBe(10);
    expect(textWidth(c.red('ab') + 'c')).toBe(3);
    expect(textWidth('café')).toBe(4);
    expect(textWidth('e\u0301')).toBe(2); // before loading: one column per code point
  });

  it('measures wide characters and ignores colour codes when aligning', async () => {
    await loadTextWidthFor('日本');
    expect(textWidth('e\u0301')).toBe(1); // a combining accent takes no column
    const c = palette(true);
    const t = formatTable(['name', 'v'], [
      ['日本', '1'],
      [c.red('ab'), '2'],
    ]);
    const lines = t.split('\n');
    // Column 2 starts at the same terminal column on every line.
    const col = (l: string) => textWidth(l) - 1;
    expect(lines.map(col)).toEqual([6, 6, 6]);
    expect(lines[2]).toContain('\u001b[31m');
  });

  it('fills short rows and can omit the header', () => {
    expect(formatTable([], [['a', 'b'], ['ccc']])).toBe('a    b\nccc');
  });
});
