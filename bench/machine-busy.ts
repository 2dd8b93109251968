/**
 * CPU time every process on the machine has used, from /proc/stat (Linux),
 * so a timing can say what other processes took while it ran: on a 2-core
 * machine one other busy process slows a memory-bound step by half even
 * when the step has its own core (measured with bench/train-step-drift.ts).
 */
import { readFileSync } from 'node:fs';

/** Busy (non-idle, non-iowait) CPU ms of all processes since boot; null where /proc/stat is missing. */
export function machineBusyMs(): number | null {
  try {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const all = ticks.reduce((a, b) => a + b, 0);
    // USER_HZ is 100 on Linux: 10 ms a tick.
    return (all - ticks[3]! - ticks[4]!) * 10;
  } catch {
    return null;
  }
}

/** Other processes' CPU ms during a repetition that began at `busy0` and used `ownCpuMs` itself. */
export function othersMs(busy0: number | null, ownCpuMs: number): number | null {
  const busy = machineBusyMs();
  return busy == null || busy0 == null ? null : Math.max(0, busy - busy0 - ownCpuMs);
}
