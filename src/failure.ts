/**
 * One failure type for everything a user can get wrong or the world can do
 * to us (bad YAML, a cycle, a stage exiting non-zero, a corrupt cache object).
 * Reporters render it; the engine only creates it. `span` points into the
 * file that was wrong so the CLI can print `pipeline.yaml:5:13` and a squiggle.
 */
export type FailureKind =
  | 'yaml-syntax'
  | 'schema'
  | 'undefined-var'
  | 'unknown-stage-type'
  | 'bad-params'
  | 'cycle'
  | 'duplicate-out'
  | 'path-outside-repo'
  | 'missing-dep'
  | 'unknown-stage'
  | 'corrupt-lock'
  | 'corrupt-cache'
  | 'exit-non-zero'
  | 'killed'
  | 'job-failed'
  | 'stage-error'
  | 'item-errors'
  | 'missing-out'
  | 'dependency-failed'
  | 'busy'
  | 'io'
  | 'backend-missing'
  | 'remote'
  | 'usage'
  | 'internal';

/** A position in a file, 1-based line and column, as `yaml`'s LineCounter gives. */
export interface Span {
  file: string;
  line: number;
  col: number;
  /** Length of the offending text on that line, for the squiggle (default 1). */
  length?: number;
}

export interface Failure {
  kind: FailureKind;
  /** One sentence saying what is wrong, naming the file or stage. */
  message: string;
  /** What the user can do about it. */
  hint?: string;
  span?: Span;
  /** Stage instance the failure belongs to, if any. */
  stage?: string;
  /** File the failure is about when there is no position (an image, a cache object). */
  file?: string;
  /** Last lines a failing process wrote to stderr. */
  stderrTail?: string[];
  /** Nested failures (several bad items in a per-item stage, several schema errors). */
  causes?: Failure[];
}

export function failure(kind: FailureKind, message: string, extra: Omit<Failure, 'kind' | 'message'> = {}): Failure {
  return { kind, message, ...extra };
}

/**
 * Marks FailureErrors across copies of this module: the bundled engine and a
 * user's TypeScript stage (PIPE_STAGES_PATH, loaded through tsx) each have
 * their own FailureError class, so `instanceof` would miss the stage's.
 */
const FAILURE_ERROR = Symbol.for('pipe.FailureError');

/**
 * A thrown wrapper for code paths deep inside async helpers where threading a
 * Result through every frame would obscure the logic. Caught and unwrapped at
 * the stage-run boundary; anything else thrown there is a bug ('internal').
 * Recognise it with `isFailureError`, not `instanceof`.
 */
export class FailureError extends Error {
  readonly [FAILURE_ERROR] = true;
  constructor(readonly failure: Failure) {
    super(failure.message);
    this.name = 'FailureError';
  }
}

/** Whether `e` is a FailureError from any copy of this module (see FAILURE_ERROR). */
export function isFailureError(e: unknown): e is FailureError {
  return typeof e === 'object' && e !== null && (e as { [FAILURE_ERROR]?: unknown })[FAILURE_ERROR] === true && typeof (e as { failure?: unknown }).failure === 'object';
}

/** What to do about the operating-system errors a user can actually fix. */
const IO_HINTS: Record<string, string> = {
  ENOSPC: 'the disk is full: free some space (`pipe gc` removes cache objects nothing refers to) and run again',
  EDQUOT: 'the disk quota is used up: free some space (`pipe gc`) and run again',
  EACCES: 'permission denied: check the owner and mode of that path',
  EPERM: 'operation not permitted: check the owner and mode of that path',
  EROFS: 'the filesystem is read-only: run from a writable checkout',
  EMFILE: 'too many open files: raise the limit (`ulimit -n`) or lower --jobs',
  ENOENT: 'a file or folder disappeared while pipe was using it: was it deleted by another program?',
};

/**
 * A Node system error (ENOSPC, EACCES, ...) as an 'io' failure naming the path,
 * with what to do and no stack trace: these are the world's doing, not bugs.
 */
function systemFailure(e: NodeJS.ErrnoException, stage: string | undefined): Failure | undefined {
  const code = e.code;
  if (!code || !IO_HINTS[code]) return undefined;
  const where = e.path ? ` (${e.syscall ?? 'accessing'} ${e.path})` : '';
  return {
    kind: 'io',
    message: `${stage ? `stage ${stage}: ` : ''}${code}${where}: ${e.message.replace(/^[A-Z]+: /, '')}`,
    hint: IO_HINTS[code]!,
    ...(e.path ? { file: e.path } : {}),
    ...(stage ? { stage } : {}),
  };
}

/** Converts anything thrown into a Failure; non-FailureErrors are 'internal' with their stack kept. */
export function toFailure(e: unknown, stage?: string): Failure {
  if (isFailureError(e)) return stage && !e.failure.stage ? { ...e.failure, stage } : e.failure;
  const sys = e instanceof Error ? systemFailure(e as NodeJS.ErrnoException, stage) : undefined;
  if (sys) return sys;
  const msg = e instanceof Error ? e.message : String(e);
  const f = failure('internal', msg, stage ? { stage } : {});
  if (e instanceof Error && e.stack) f.stderrTail = e.stack.split('\n').slice(0, 12);
  return f;
}
