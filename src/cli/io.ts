/** What CLI commands write to and read from; one object so tests can pass fakes. */
import { readFileSync } from 'node:fs';
import { loadTextWidthFor } from '../report/format-table.ts';

export interface CliIO {
  cwd: string;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

/** Reads a source file for error squiggles; missing files just give no excerpt. */
export function readSource(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Writes the aligned text `format` makes from `data` (a table), after loading
 * the full Unicode width rules if `data` holds non-ASCII text (see
 * loadTextWidthFor: plain ASCII does not pay for them).
 */
export async function writeAligned(io: CliIO, data: unknown, format: () => string): Promise<void> {
  await loadTextWidthFor(JSON.stringify(data));
  io.stdout.write(format() + '\n');
}

export function useColor(io: CliIO): boolean {
  if (io.env.NO_COLOR) return false;
  if (io.env.FORCE_COLOR && io.env.FORCE_COLOR !== '0') return true;
  return Boolean(io.stderr.isTTY);
}

/** Exit codes: 0 fine, 1 a stage failed, 2 bad input (config, usage), 130 interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;
