/**
 * Small pieces both the plain and the Ink reporter print: measured values,
 * the step counter, the end-of-run summary line, rate and ETA.
 */
import type { Progress, RunSummary } from '../events.ts';
import { formatDuration } from './format-table.ts';

/** Three significant digits, no exponent for ordinary magnitudes: 0.53, 0.0001, 1234. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1000) return String(Math.round(x));
  return String(Number(x.toPrecision(3)));
}

/** `loss=0.53 lr=0.01` in the order the stage reported them. */
export function formatValues(values: Record<string, number> | undefined): string {
  if (!values) return '';
  return Object.entries(values)
    .map(([k, v]) => `${k}=${formatNumber(v)}`)
    .join(' ');
}

/** `40/200 epoch 2 loss=0.53`: whatever of step/total, message and values is present. */
export function formatProgress(p: Progress): string {
  const parts: string[] = [];
  if (p.step !== undefined) parts.push(p.total !== undefined ? `${p.step}/${p.total}` : String(p.step));
  if (p.message) parts.push(p.message);
  const v = formatValues(p.values);
  if (v) parts.push(v);
  return parts.join(' ');
}

/** "ran 3, restored 1, up to date 5, failed 0, not run 0 in 1m 12s" */
export function formatSummary(s: RunSummary): string {
  return (
    `ran ${s.ran.length}, restored ${s.restored.length}, up to date ${s.upToDate.length}, ` +
    `failed ${s.failed.length}, not run ${s.notRun.length} in ${formatDuration(s.durationMs)}`
  );
}

/** Timing of a running stage, enough to estimate rate and time left. */
export interface StepTiming {
  startedAt: number;
  /** Last duration the lock recorded, used before the first step arrives. */
  expectedMs?: number;
  /** Time and step of the first progress event with a step, the origin of the rate. */
  firstStepAt?: number;
  firstStep?: number;
  lastStepAt?: number;
  step?: number;
  total?: number;
}

export interface Estimate {
  /** Steps per second, when two step reports are far enough apart to tell. */
  rate?: number;
  /** Milliseconds left, when known. */
  etaMs?: number;
}

/**
 * Rate from the steps seen since the first report (excluding setup time
 * before it, which would understate the rate); before any step arrives, the
 * lock's last duration minus the time spent so far.
 */
export function estimate(t: StepTiming, now: number): Estimate {
  if (
    t.step !== undefined &&
    t.firstStep !== undefined &&
    t.firstStepAt !== undefined &&
    t.lastStepAt !== undefined &&
    t.step > t.firstStep &&
    t.lastStepAt > t.firstStepAt
  ) {
    const rate = ((t.step - t.firstStep) * 1000) / (t.lastStepAt - t.firstStepAt);
    if (t.total === undefined) return { rate };
    const left = Math.max(0, t.total - t.step);
    // Time since the last step already counts towards the next one.
    return { rate, etaMs: Math.max(0, (left * 1000) / rate - (now - t.lastStepAt)) };
  }
  if (t.expectedMs !== undefined) return { etaMs: Math.max(0, t.expectedMs - (now - t.startedAt)) };
  return {};
}

/** "3.2/s" or "12s/step" — whichever reads better for the rate. */
export function formatRate(stepsPerSecond: number): string {
  if (stepsPerSecond >= 1) return `${formatNumber(stepsPerSecond)}/s`;
  return `${formatDuration(1000 / stepsPerSecond)}/step`;
}
