/** Prints failures the way every command does. */
import type { Failure } from '../failure.ts';
import { formatFailure } from '../report/format-failure.ts';
import { readSource, useColor, type CliIO } from './io.ts';

export function printFailures(io: CliIO, failures: Failure[]): void {
  const color = useColor(io);
  for (const f of failures) io.stderr.write(formatFailure(f, { color, readSource, cwd: io.cwd }) + '\n');
}
