/**
 * One cached loader for OpenCV compiled to WebAssembly (`@techstark/opencv-js`).
 *
 * The package exports the Emscripten module object itself. It has a `then`
 * method, so `await`ing it directly resolves to itself again and loops;
 * instead we wait for `onRuntimeInitialized` (or notice the runtime is already
 * up because the embind classes exist). Each worker thread imports this module
 * once and so pays the ~0.4 s start-up once.
 */
import { createRequire } from 'node:module';

export type CV = typeof import('@techstark/opencv-js');
/** An OpenCV matrix (must be `.delete()`d: it lives in the wasm heap, not the JS heap). */
export type Mat = InstanceType<CV['Mat']>;

let loading: Promise<CV> | undefined;

/** Loads OpenCV once per thread; later calls return the same module. */
export function loadOpenCv(): Promise<CV> {
  loading ??= (async () => {
    // `require`, not `import()`: where a loader exposes the CommonJS exports as
    // a namespace with a `then` member (vitest does), awaiting the import
    // itself never settles.
    const mod = createRequire(import.meta.url)('@techstark/opencv-js') as Record<string, unknown>;
    if (mod instanceof Promise) return (await mod) as CV;
    if (typeof mod['Mat'] !== 'function') {
      await new Promise<void>((resolve) => {
        mod['onRuntimeInitialized'] = () => resolve();
      });
    }
    // Drop the thenable so nothing (an `await cv` anywhere) can loop on it.
    delete mod['then'];
    return mod as unknown as CV;
  })();
  return loading;
}

/**
 * Collects Mats (and other embind objects) so one `finally` frees them all:
 * `const s = new MatScope(); try { const m = s.add(new cv.Mat()); ... } finally { s.free(); }`.
 */
export class MatScope {
  private readonly items: { delete(): void; isDeleted?(): boolean }[] = [];
  add<T extends { delete(): void }>(m: T): T {
    this.items.push(m);
    return m;
  }
  /** Deletes everything added, newest first; safe to call twice. */
  free(): void {
    while (this.items.length > 0) {
      const m = this.items.pop()!;
      if (!m.isDeleted || !m.isDeleted()) m.delete();
    }
  }
}
