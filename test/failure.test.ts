import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { FailureError, failure, toFailure } from '../src/failure.ts';

describe('toFailure', () => {
  it('turns an operating-system error into an io failure naming the path, with a hint and no stack', async () => {
    const e = await readFile('/definitely/not/here.png').catch((x: unknown) => x);
    const f = toFailure(e, 'deglare');
    expect(f.kind).toBe('io');
    expect(f.message).toContain('/definitely/not/here.png');
    expect(f.message).toContain('stage deglare');
    expect(f.hint).toBeTruthy();
    expect(f.stderrTail).toBeUndefined();
  });

  it('keeps a FailureError as it is, adding the stage', () => {
    const f = toFailure(new FailureError(failure('stage-error', 'x.png: truncated')), 'convert');
    expect(f).toMatchObject({ kind: 'stage-error', message: 'x.png: truncated', stage: 'convert' });
  });

  it('reports anything else as an internal error with its stack', () => {
    const f = toFailure(new TypeError('undefined is not a function'));
    expect(f.kind).toBe('internal');
    expect(f.stderrTail?.join('\n')).toContain('TypeError');
  });
});
