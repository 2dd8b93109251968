import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackends } from '../../bench/train-step-backends.ts';
import { simdKernels } from '../../stages/lib/tf-kernels/wasm-simd.ts';

const root = path.resolve(import.meta.dirname, '../..');

function wabtInstalled(): boolean {
  try {
    createRequire(path.join(root, 'package.json')).resolve('wabt');
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  await initBackends();
  await tf.setBackend('wasm');
});

describe('the WebAssembly SIMD kernels', () => {
  // wabt is a devDependency: CI installs it (npm ci); a work tree whose node_modules predate it skips.
  it.skipIf(!wabtInstalled() && process.env.CI == null)('are the build of simd/kernels.wat that is committed', () => {
    const out = execFileSync(process.execPath, [path.join(root, 'scripts/build-wasm.mjs'), '--check'], { cwd: root, encoding: 'utf8' });
    expect(out).toContain('up to date');
  });

  it('run on the wasm backend here (so the kernel tests exercise them, not the JavaScript fallbacks)', () => {
    const kernels = simdKernels(tf.backend() as unknown as BackendWasm);
    expect(kernels).toBeDefined();
    // Same instance for the same memory.
    expect(simdKernels(tf.backend() as unknown as BackendWasm)).toBe(kernels);
    // act_grad on the backend's own memory: relu6 mask and per-channel sums.
    const b = tf.backend() as unknown as BackendWasm;
    const y = tf.tensor2d([0, 1, 6, 3, 2, 0, 5.5, 6], [2, 4]);
    const dy = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
    const dz = tf.zeros([2, 4]);
    const scratch = tf.zeros([3 * 4 + 2]);
    const at = (t: tf.Tensor) => b.dataIdMap.get(t.dataId)!.memoryOffset;
    const a64 = (at(scratch) + 16 + 7) & ~7;
    kernels!.act_grad(at(y), at(dy), at(dz), at(scratch), a64, 2, 4, 2);
    expect(Array.from(dz.dataSync())).toEqual([0, 2, 0, 4, 5, 0, 7, 0]);
    const sums = new Float64Array((b.typedArrayFromHeap(scratch) as Float32Array).buffer, a64, 4);
    expect(Array.from(sums)).toEqual([5, 2, 7, 4]);
    tf.dispose([y, dy, dz, scratch]);
  });
});
