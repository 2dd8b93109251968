/**
 * Colour for text reporters. Every formatter takes `color: boolean` and asks
 * for a palette, so output meant for files and CI logs never carries escape
 * codes by accident (chalk's global auto-detection would guess from the
 * process, not from the stream being written).
 */
import { Chalk, type ChalkInstance } from 'chalk';

const on = new Chalk({ level: 1 });
const off = new Chalk({ level: 0 });

/** A chalk instance that colours when `color` is true and is a no-op otherwise. */
export function palette(color: boolean): ChalkInstance {
  return color ? on : off;
}

/**
 * Whether to colour a stream, following the NO_COLOR (https://no-color.org)
 * and FORCE_COLOR conventions, then whether it is a terminal.
 */
export function shouldColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}
