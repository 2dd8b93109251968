/**
 * Picks the reporter for a run: JSON lines when asked, the Ink UI on an
 * interactive terminal, plain timestamped lines everywhere else (CI, pipes,
 * `TERM=dumb`), where redrawing would only leave escape-code litter.
 */
import type { PipeEvent, Reporter } from '../events.ts';
import { unreachable } from '../util/result.ts';
import { shouldColor } from './color.ts';
import { createJsonReporter } from './json.ts';
import { createPlainReporter } from './plain.ts';
import { loadTextWidth } from './format-table.ts';

export type ReporterKind = 'json' | 'ink' | 'plain';

const truthy = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== '0' && v !== 'false';

/** Which reporter `createReporter` picks for this stream and environment. */
export function chooseReporter(o: { json: boolean; stdout: { isTTY?: boolean }; env?: NodeJS.ProcessEnv }): ReporterKind {
  const env = o.env ?? process.env;
  if (o.json) return 'json';
  if (o.stdout.isTTY === true && !truthy(env.CI) && env.TERM !== 'dumb') return 'ink';
  return 'plain';
}

export interface CreateReporterOptions {
  json: boolean;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  readSource?(file: string): string | undefined;
  /** Folder failure paths are shown relative to (default process.cwd()). */
  cwd?: string;
  /** Default process.env; read for CI, TERM, NO_COLOR and FORCE_COLOR. */
  env?: NodeJS.ProcessEnv;
}

/** The reporter for `pipe run`: see chooseReporter for the rule. */
export function createReporter(o: CreateReporterOptions): Reporter {
  const env = o.env ?? process.env;
  const color = shouldColor(o.stdout, env);
  const plain = (): Reporter =>
    createPlainReporter(o.stdout, {
      color,
      ...(o.readSource ? { readSource: o.readSource } : {}),
      ...(o.cwd ? { cwd: o.cwd } : {}),
    });
  const kind = chooseReporter({ json: o.json, stdout: o.stdout, env });
  switch (kind) {
    case 'json':
      return createJsonReporter(o.stdout);
    case 'plain':
      return plain();
    case 'ink':
      return lazyInk(o, color, plain);
    default:
      return unreachable(kind, 'reporter kind');
  }
}

/**
 * Ink, React and yoga's wasm take a moment to load; only interactive runs
 * pay for them. Events that arrive while loading are queued and replayed,
 * and if Ink cannot load the run still reports, in plain lines.
 */
function lazyInk(o: CreateReporterOptions, color: boolean, plain: () => Reporter): Reporter {
  const queue: PipeEvent[] = [];
  let target: Reporter | undefined;
  const ready: Promise<Reporter> = Promise.all([import('./ink/index.ts'), loadTextWidth()])
    .then(([m]) =>
      m.createInkReporter({
        stdout: o.stdout,
        stderr: o.stderr,
        color,
        ...(o.readSource ? { readSource: o.readSource } : {}),
        ...(o.cwd ? { cwd: o.cwd } : {}),
      }),
    )
    .catch(() => plain())
    .then((r) => {
      for (const e of queue.splice(0)) r.onEvent(e);
      target = r;
      return r;
    });
  return {
    onEvent(e) {
      if (target) target.onEvent(e);
      else queue.push(e);
    },
    async close() {
      await (await ready).close?.();
    },
  };
}
