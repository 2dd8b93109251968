/**
 * Picks the tfjs backend. `auto` tries, in order: tfjs-node-gpu, tfjs-node
 * (both the native 'tensorflow' backend; optional packages that only a
 * user's machine may have), the WebAssembly backend, the plain CPU backend.
 * A forced choice that is not available is a 'backend-missing' failure.
 *
 * For training, a backend is only taken if a small probe gradient runs on
 * it: tfjs-backend-wasm 4.22 lacks Conv2DBackpropFilter and the depthwise
 * backprop kernels until stages/lib/tf-kernels registers them, so `auto`
 * then falls back to the CPU backend and says why.
 *
 * The only module state is the backend-ready promises: importing a backend
 * package (and the gradient definitions) happens once per process.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import path from 'node:path';
import { failure, err, ok, unreachable, type Failure, type Result } from '../../../src/stage-api.ts';
import { atrousDepthwiseConv2d } from './atrous.ts';
import { registerFastCpuKernels, registerWasmTrainingKernels } from '../tf-kernels/index.ts';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendName = Exclude<BackendChoice, 'auto'>;

export interface BackendInfo {
  name: BackendName;
  /** Which package provided it, e.g. '@tensorflow/tfjs-node-gpu'. */
  provider: string;
}

/** Per backend: the package that provided it, or why it could not be loaded. */
const registered = new Map<BackendName, Promise<{ provider: string } | { error: string }>>();

/** Dynamic import by a computed name, so TypeScript and bundlers do not require the optional packages. */
async function importOptional(name: string): Promise<boolean> {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

let gradients: Promise<unknown> | undefined;

/**
 * tfjs-core's Node bundle carries no gradient definitions; the union
 * package normally registers them. tfjs-layers' Node bundle registers the
 * full set (into tfjs's global registry) when imported, so importing it is
 * how we get them without the union package.
 */
function registerGradients(): Promise<unknown> {
  gradients ??= import('@tensorflow/tfjs-layers');
  return gradients;
}

async function register(name: BackendName, threads: number): Promise<string | undefined> {
  await registerGradients();
  switch (name) {
    case 'tensorflow': {
      // libtensorflow reads its thread count from the environment at load.
      process.env['TF_NUM_INTRAOP_THREADS'] ??= String(threads);
      for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
        if ((await importOptional(pkg)) && tf.findBackendFactory('tensorflow')) return pkg;
      }
      return undefined;
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // Point at the package's own .wasm files on disk so nothing is fetched.
      const require = createRequire(import.meta.url);
      const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
      wasm.setWasmPaths(dist + path.sep);
      return '@tensorflow/tfjs-backend-wasm';
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return '@tensorflow/tfjs-backend-cpu';
    default:
      return unreachable(name, 'backend');
  }
}

/**
 * Runs a tiny gradient computation through every op kind our models train
 * with (conv, depthwise conv, atrous via space-to-batch, relu6, max pool,
 * bilinear resize). Probing, rather than checking a list of kernel names,
 * stays right when tfjs changes how a gradient is computed or when the
 * kernel helper registers more kernels. Returns the error text, if any.
 */
function trainingProbe(): string | undefined {
  try {
    tf.tidy(() => {
      const x = tf.variable(tf.ones([1, 8, 8, 2]), true);
      const { grads } = tf.variableGrads(() => {
        let h = tf.conv2d(x as tf.Tensor4D, tf.ones([3, 3, 2, 2]), 2, 'same');
        h = atrousDepthwiseConv2d(h, tf.ones([3, 3, 2, 1]), 2);
        h = tf.relu6(tf.maxPool(h, 3, 1, 'same'));
        return tf.sum(tf.image.resizeBilinear(h, [8, 8], true));
      }, [x]);
      Object.values(grads).forEach((g) => g.dataSync());
      x.dispose();
    });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

async function tryBackend(name: BackendName, threads: number, training: boolean): Promise<Result<BackendInfo, string>> {
  let p = registered.get(name);
  if (!p) {
    p = register(name, threads).then(
      (provider) => (provider ? { provider } : { error: 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed' }),
      (e: unknown) => ({ error: `${name} backend failed to load: ${(e as Error).message}` }),
    );
    registered.set(name, p);
  }
  const loaded = await p;
  if ('error' in loaded) return err(loaded.error);
  const { provider } = loaded;
  let okSet = false;
  try {
    okSet = await tf.setBackend(name);
  } catch (e) {
    return err(`${name} backend failed to initialise: ${(e as Error).message}`);
  }
  if (!okSet) return err(`${name} backend failed to initialise`);
  await tf.ready();
  // The kernel helper's registrations go on top of the backend's own.
  if (name === 'wasm') registerWasmTrainingKernels();
  if (name === 'cpu') registerFastCpuKernels();
  if (training) {
    const problem = trainingProbe();
    if (problem) return err(`${name} backend cannot train (${problem})`);
  }
  return ok({ name, provider });
}

const AUTO_ORDER: BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/**
 * Makes `choice` the active tfjs backend (or the first that works, for
 * 'auto'); `log` hears which one was taken and why others were skipped.
 */
export async function selectBackend(
  choice: BackendChoice,
  opts: { training: boolean; threads?: number; log?: (line: string) => void },
): Promise<Result<BackendInfo, Failure>> {
  const threads = Math.max(1, opts.threads ?? 1);
  // tfjs's "install the node backend" banner and flag notes are not for our users.
  tf.env().set('PROD', true);
  const log = opts.log ?? (() => {});
  const order = choice === 'auto' ? AUTO_ORDER : [choice];
  const reasons: string[] = [];
  for (const name of order) {
    const r = await tryBackend(name, threads, opts.training);
    if (r.ok) {
      log(`tfjs backend: ${name} (${r.value.provider})${reasons.length ? `; skipped: ${reasons.join('; ')}` : ''}`);
      return r;
    }
    reasons.push(r.error);
  }
  return err(
    failure('backend-missing', `tfjs backend '${choice}' is not available: ${reasons.join('; ')}`, {
      hint:
        choice === 'tensorflow'
          ? 'install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node, or set backend: auto'
          : 'set backend: auto to fall back to another backend',
    }),
  );
}
