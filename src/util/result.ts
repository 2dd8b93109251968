/**
 * Failures are values: every fallible engine operation returns a Result, and
 * exceptions are reserved for bugs (they are turned into failures at one
 * boundary, the CLI). Shape taken from wireit's `error.ts`.
 */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });

/** Ends every switch over a union, so a new member breaks the build until handled. */
export function unreachable(value: never, what = 'value'): never {
  throw new Error(`unreachable: unexpected ${what} ${JSON.stringify(value)}`);
}
