/** Prints failures the way every command does. */
import type { Failure } from '../failure.ts';
import { formatFailure } from '../report/format-failure.ts';
import { readSource, useColor, type CliIO } from './io.ts';

/** Problems that do not fail the command (say, a cache that could not be saved): one line each, on stderr. */
export function printWarnings(io: CliIO, ...warnings: (Failure | undefined)[]): void {
  for (const w of warnings) if (w) io.stderr.write(`warning: ${w.message}${w.hint ? `\n  hint: ${w.hint}` : ''}\n`);
}

export function printFailures(io: CliIO, failures: Failure[]): void {
  const color = useColor(io);
  for (const f of failures) io.stderr.write(formatFailure(f, { color, readSource, cwd: io.cwd }) + '\n');
}
