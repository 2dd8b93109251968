import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { entryModule, packageRoot, runningBuilt } from '../../src/exec/node-entry.ts';
import { FailureError, failure, isFailureError, toFailure } from '../../src/failure.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('entryModule', () => {
  it('from the sources, names the TypeScript entry under the package root', () => {
    expect(packageRoot()).toBe(ROOT);
    expect(runningBuilt()).toBe(false);
    for (const rel of ['src/exec/item-worker', 'src/exec/child-entry', 'stages/synth/worker']) {
      const p = entryModule(rel);
      expect(p).toBe(path.join(ROOT, `${rel}.ts`));
      expect(existsSync(p), p).toBe(true);
    }
  });
});

describe('isFailureError', () => {
  it('recognises a FailureError from another copy of src/failure.ts, and nothing else', async () => {
    // A query string makes the module loader evaluate the file again: a second class, as a user's stage loaded through tsx has.
    const spec = '../../src/failure.ts?second-copy'; // a variable, so TypeScript does not look for a file of that name
    const other = (await import(spec)) as typeof import('../../src/failure.ts');
    expect(other.FailureError).not.toBe(FailureError);
    const foreign = new other.FailureError(failure('bad-params', 'x.yaml: bad'));
    expect(foreign instanceof FailureError).toBe(false);
    expect(isFailureError(foreign)).toBe(true);
    expect(toFailure(foreign, 'st')).toEqual({ kind: 'bad-params', message: 'x.yaml: bad', stage: 'st' });

    expect(isFailureError(new FailureError(failure('io', 'y')))).toBe(true);
    expect(isFailureError(new Error('plain'))).toBe(false);
    expect(isFailureError({ failure: { kind: 'io', message: 'look-alike' } })).toBe(false);
    expect(isFailureError(null)).toBe(false);
    expect(toFailure(new Error('boom')).kind).toBe('internal');
  });
});
