import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineCounter, parseDocument, isMap, isScalar } from 'yaml';
import type { Failure } from '../../src/failure.ts';
import { formatFailure } from '../../src/report/format-failure.ts';
import { textWidth } from '../../src/report/format-table.ts';

const yamlText = [
  'vars:',
  '  sets: [dark, bright]',
  'stages:',
  '  train:',
  '    uses: train',
  '    foreach: ${vars.sets}',
  '    params:',
  '      lr: fast',
  '      epochs: 3',
  '',
].join('\n');

/** The span of `params.lr`'s value as the config loader would make it: from yaml's LineCounter. */
function spanOfLr(file: string) {
  const lc = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lc });
  const lr = doc.getIn(['stages', 'train', 'params', 'lr'], true);
  if (!isScalar(lr) || !lr.range) throw new Error('fixture broken');
  const pos = lc.linePos(lr.range[0]);
  expect(isMap(doc.contents)).toBe(true);
  return { file, line: pos.line, col: pos.col, length: lr.range[1] - lr.range[0] };
}

describe('formatFailure', () => {
  const cwd = path.join(path.sep, 'repo');
  const file = path.join(cwd, 'pipeline.yaml');
  const f: Failure = {
    kind: 'bad-params',
    message: "param 'lr' of stage train@dark must be a number, not 'fast'",
    hint: 'write a number such as 0.01',
    span: spanOfLr(file),
    stage: 'train@dark',
  };

  it('prints file:line:col relative to cwd, the source line and a squiggle under the bad text', () => {
    const out = formatFailure(f, { color: false, cwd, readSource: (p) => (p === file ? yamlText : undefined) });
    const lines = out.split('\n');
    expect(lines[0]).toBe("pipeline.yaml:8:11 - error: param 'lr' of stage train@dark must be a number, not 'fast'");
    const src = lines[1] ?? '';
    const squiggle = lines[2] ?? '';
    expect(src).toContain('lr: fast');
    // The squiggle starts exactly under the "f" of "fast" and is as long as "fast".
    const at = squiggle.indexOf('^');
    expect(src.slice(at, at + 4)).toBe('fast');
    expect(squiggle.slice(at)).toBe('^~~~');
    expect(lines[3]).toBe('  hint: write a number such as 0.01');
    expect(out).not.toMatch(/\u001b\[/);
  });

  it('lines the squiggle up after tabs and wide characters', () => {
    const text = 'a:\n\tname: "日本" bad\n';
    const g: Failure = { kind: 'schema', message: 'bad', span: { file: 'p.yaml', line: 2, col: 13, length: 3 } };
    const lines = formatFailure(g, { color: false, readSource: () => text }).split('\n');
    const src = lines[1] ?? '';
    const sq = lines[2] ?? '';
    const caretCol = textWidth(sq.slice(0, sq.indexOf('^')));
    const badCol = textWidth(src.slice(0, src.indexOf('bad')));
    expect(caretCol).toBe(badCol);
  });

  it('skips the excerpt when the source cannot be read, and colours only when asked', () => {
    const plain = formatFailure(f, { color: false, cwd });
    expect(plain.split('\n')).toHaveLength(2);
    const coloured = formatFailure(f, { color: true, cwd, readSource: () => yamlText });
    expect(coloured).toMatch(/\u001b\[31m/);
  });

  it('shows stderr tail, names the stage when the message does not, and nests causes', () => {
    const g: Failure = {
      kind: 'exit-non-zero',
      message: 'command exited with code 2',
      stage: 'evaluate@bright-dark',
      stderrTail: ['Traceback (most recent call last):', 'ValueError: empty mask'],
      causes: [
        { kind: 'item-errors', message: 'img/001.png: cannot decode', file: path.join(cwd, 'data', 'img', '001.png') },
        { kind: 'item-errors', message: 'img/002.png: cannot decode' },
      ],
    };
    const lines = formatFailure(g, { color: false, cwd }).split('\n');
    expect(lines[0]).toBe('error in evaluate@bright-dark: command exited with code 2');
    expect(lines).toContain('  stderr (last 2 lines):');
    expect(lines).toContain('    ValueError: empty mask');
    expect(lines).toContain('  data/img/001.png - error: img/001.png: cannot decode');
    expect(lines).toContain('  error: img/002.png: cannot decode');
  });

  it('labels internal errors and their stack; summarises very many causes', () => {
    const causes: Failure[] = Array.from({ length: 25 }, (_, i) => ({ kind: 'item-errors', message: `item ${i}` }));
    const out = formatFailure(
      { kind: 'internal', message: 'boom', stderrTail: ['Error: boom', '    at x (a.ts:1:1)'], causes },
      { color: false },
    );
    expect(out.split('\n')[0]).toBe('internal error: boom');
    expect(out).toContain('  stack:');
    expect(out).toContain('item 19');
    expect(out).not.toContain('item 20');
    expect(out).toContain('… and 5 more');
  });
});
