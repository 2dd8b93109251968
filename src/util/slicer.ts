/**
 * Synchronous fs work in slices: pipe uses blocking calls for many small
 * operations (on a busy 2-core machine a thread-pool round trip per call
 * costs far more than the call), and yields to the event loop between
 * slices so a walk over 100,000 files never freezes the progress display.
 */

/** Longest stretch the synchronous loops block the event loop before yielding. */
const SLICE_MS = 8;

export class Slicer {
  private start = performance.now();

  /** Yields to the event loop if this slice has run for SLICE_MS. */
  async tick(): Promise<void> {
    if (performance.now() - this.start < SLICE_MS) return;
    await new Promise<void>((r) => setImmediate(r));
    this.start = performance.now();
  }
}
