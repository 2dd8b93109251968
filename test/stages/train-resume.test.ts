import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FailureError } from '../../src/failure.ts';
import train from '../../stages/train/index.ts';
import { makeCtx, makeDataset, tempDir, tinyParams } from './tf-fixtures.ts';

describe('checkpoints', () => {
  it('an interrupted training resumes from the last checkpoint and ends with the same weights', async () => {
    const root = await tempDir();
    const data = await makeDataset(root, 4, 32, 11);
    if (train.kind !== 'whole') throw new Error('train must be a whole stage');

    // Uninterrupted reference run (SGD: momentum state must survive the checkpoint too).
    const ref = tinyParams(data, { steps: 6, checkpointEvery: 3, out: 'models/ref', optimizer: 'sgd', norm: 'batch', model: 'largefov', outputStride: 8, width: 0.125 });
    await train.run(makeCtx(root, ref, await tempDir()));

    // Interrupted after step 4, then run again with the same work folder.
    const params = { ...ref, out: 'models/resumed' };
    const work = await tempDir();
    const first = makeCtx(root, params, work, (p, c) => {
      if (p.step === 4) c.controller.abort();
    });
    const failure = await train.run(first).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(FailureError);
    expect((failure as FailureError).failure.kind).toBe('killed');
    expect((failure as FailureError).failure.hint).toMatch(/step 3/);

    const second = makeCtx(root, params, work);
    await train.run(second);
    expect(second.logs.join('\n')).toMatch(/resuming from the checkpoint at step 3/);
    expect(second.events.map((e) => e.step)).toEqual([4, 5, 6]);
    // Determinism: the resumed run's step-4 loss equals the first attempt's.
    expect(second.events[0]!.values!['loss']).toBe(first.events[3]!.values!['loss']);

    const a = await readFile(path.join(root, 'models/ref/weights.bin'));
    const b = await readFile(path.join(root, 'models/resumed/weights.bin'));
    expect(b.equals(a)).toBe(true);
    const metrics = JSON.parse(await readFile(path.join(root, 'models/resumed/train.json'), 'utf8'));
    expect(metrics.resumedFrom).toBe(3);
  });
});
