import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detectGpus, parseGpuList, parseNvidiaSmiList } from '../../src/exec/gpus.ts';
import { tempDir } from './helpers.ts';

let tmp: { dir: string; cleanup(): Promise<void> };
beforeEach(async () => (tmp = await tempDir()));
afterEach(async () => tmp.cleanup());

/** A PATH holding only a fake nvidia-smi with the given script body (plus /bin for sh). */
async function fakeSmi(body: string): Promise<NodeJS.ProcessEnv> {
  const bin = path.join(tmp.dir, 'bin');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(bin, { recursive: true });
  const file = path.join(bin, 'nvidia-smi');
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return { PATH: `${bin}:/bin:/usr/bin` };
}

describe('GPU detection', () => {
  it('parses lists and nvidia-smi output', () => {
    expect(parseGpuList('0,1')).toEqual(['0', '1']);
    expect(parseGpuList(' 2 , 3,,2 ')).toEqual(['2', '3']);
    expect(parseGpuList('none')).toEqual([]);
    expect(parseGpuList('')).toEqual([]);
    expect(parseNvidiaSmiList('GPU 0: NVIDIA A100 (UUID: GPU-aa)\nGPU 1: NVIDIA A100 (UUID: GPU-bb)\n')).toEqual(['0', '1']);
    expect(parseNvidiaSmiList('No devices were found\n')).toEqual([]);
  });

  it('the flag wins over everything', async () => {
    const env = await fakeSmi('echo "GPU 0: X"');
    expect(await detectGpus('0,1', { env })).toEqual(['0', '1']);
    expect(await detectGpus('none', { env })).toEqual([]);
  });

  it('without a flag, asks nvidia-smi -L when it is on PATH', async () => {
    const env = await fakeSmi('[ "$1" = "-L" ] || exit 9\necho "GPU 0: Fake (UUID: GPU-1)"\necho "GPU 1: Fake (UUID: GPU-2)"');
    expect(await detectGpus(undefined, { env })).toEqual(['0', '1']);
  });

  it('a failing nvidia-smi means no GPUs', async () => {
    const env = await fakeSmi('echo "NVIDIA-SMI has failed" >&2; exit 9');
    expect(await detectGpus(undefined, { env })).toEqual([]);
  });

  it('no nvidia-smi on PATH means no GPUs', async () => {
    expect(await detectGpus(undefined, { env: { PATH: tmp.dir } })).toEqual([]);
  });

  it('honours CUDA_VISIBLE_DEVICES set by the user', async () => {
    const env = await fakeSmi('echo "GPU 0: X"; echo "GPU 1: X"; echo "GPU 2: X"');
    expect(await detectGpus(undefined, { env: { ...env, CUDA_VISIBLE_DEVICES: '2' } })).toEqual(['2']);
    expect(await detectGpus(undefined, { env: { ...env, CUDA_VISIBLE_DEVICES: '' } })).toEqual([]);
  });
});
