/**
 * Runs work over many items with a fixed number in flight. Why not
 * `Promise.all(items.map(...))` (or p-limit over all of them): at 100,000 items
 * every pending promise, closure and queued request is held at once, hundreds
 * of MB before the first item finishes.
 */

/** Calls `fn` for each item in order, at most `lanes` at a time; takes no new item once `signal` is aborted. */
export async function inLanes<T>(items: readonly T[], lanes: number, signal: AbortSignal, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && !signal.aborted) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(items.length, Math.max(1, lanes)) }, lane));
}
