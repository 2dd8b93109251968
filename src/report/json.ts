/**
 * `--json`: one JSON object per line, each exactly a PipeEvent with `time` as
 * an ISO-8601 string, so other tools can follow a run (`jq`, dashboards).
 * The engine's last event is `run-finished`, carrying the summary.
 */
import type { PipeEvent, Reporter } from '../events.ts';

/** A PipeEvent as written to JSON lines (distributes over the union, keeping each variant's fields). */
export type JsonEvent = PipeEvent extends infer E ? (E extends PipeEvent ? Omit<E, 'time'> & { time: string } : never) : never;

/** Serialises one event to a single line (no trailing newline). */
export function eventToJsonLine(e: PipeEvent): string {
  return JSON.stringify({ ...e, time: new Date(e.time).toISOString() });
}

export function createJsonReporter(out: NodeJS.WritableStream): Reporter {
  return {
    onEvent(e) {
      out.write(eventToJsonLine(e) + '\n');
    },
    close() {
      // Resolves once everything written before has been handed to the OS.
      return new Promise<void>((resolve) => out.write('', () => resolve()));
    },
  };
}
