/**
 * Per-kernel timing for one tfjs backend: every registered kernel function of
 * the backend is wrapped with a timer that records its self time (time spent
 * in kernels it calls itself, such as our tf-kernels running XNNPACK convs,
 * is charged to those), its call count and its input shapes. What a step
 * spends outside every kernel is tfjs's own work: op dispatch, the gradient
 * tape, gradient functions' JavaScript, tensor bookkeeping and disposal.
 *
 * The wasm backend is synchronous, so wall-clock time around a kernel call is
 * the kernel's time.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KernelRow {
  readonly kernel: string;
  readonly shapes: string;
  calls: number;
  ms: number;
}

/** Rows summed by kernel (shapes merged), slowest first. */
export function sumByKernel(rows: Iterable<KernelRow>): KernelRow[] {
  const out = new Map<string, KernelRow>();
  for (const r of rows) {
    const o = out.get(r.kernel) ?? { kernel: r.kernel, shapes: '', calls: 0, ms: 0 };
    o.calls += r.calls;
    o.ms += r.ms;
    out.set(r.kernel, o);
  }
  return [...out.values()].sort((a, b) => b.ms - a.ms);
}

export class KernelProfiler {
  private readonly rows = new Map<string, KernelRow>();
  private readonly originals: tf.KernelConfig[] = [];
  /** Time of the kernel calls currently running, innermost last (to subtract children). */
  private readonly stack: number[] = [];
  private on = false;

  /** Wraps every kernel registered for `backendName`. Call after all kernel registrations. */
  constructor(private readonly backendName: string) {
    for (const config of tf.getKernelsForBackend(backendName)) {
      this.originals.push(config);
      const inner = config.kernelFunc;
      const kernelFunc: tf.KernelFunc = (args) => {
        if (!this.on) return inner(args);
        const t0 = performance.now();
        this.stack.push(0);
        try {
          return inner(args);
        } finally {
          const total = performance.now() - t0;
          const children = this.stack.pop()!;
          if (this.stack.length > 0) this.stack[this.stack.length - 1]! += total;
          const shapes = Object.values(args.inputs)
            .map((t) => (t == null ? '-' : `[${t.shape.join(',')}]`))
            .join(' ');
          const key = `${config.kernelName} ${shapes}`;
          let row = this.rows.get(key);
          if (row == null) {
            row = { kernel: config.kernelName, shapes, calls: 0, ms: 0 };
            this.rows.set(key, row);
          }
          row.calls++;
          row.ms += total - children;
        }
      };
      tf.unregisterKernel(config.kernelName, backendName);
      tf.registerKernel({ ...config, kernelFunc });
    }
  }

  /** Runs `f` with timing on; returns its wall time in ms. */
  measure(f: () => void): number {
    this.on = true;
    const t0 = performance.now();
    try {
      f();
    } finally {
      this.on = false;
    }
    return performance.now() - t0;
  }

  reset(): void {
    this.rows.clear();
  }

  /** Rows by kernel and shapes, slowest first. */
  byShape(): KernelRow[] {
    return [...this.rows.values()].sort((a, b) => b.ms - a.ms);
  }

  /** Rows by kernel (shapes summed), slowest first. */
  byKernel(): KernelRow[] {
    return sumByKernel(this.rows.values());
  }

  /** Puts the unwrapped kernels back. */
  restore(): void {
    for (const config of this.originals) {
      tf.unregisterKernel(config.kernelName, this.backendName);
      tf.registerKernel(config);
    }
  }
}
