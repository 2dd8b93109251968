/**
 * What a whole stage needs to run, as plain data (so it crosses an IPC
 * channel unchanged), and the one function that turns it into the
 * `StageContext` a stage sees — shared by the in-process and child executors
 * so both resolve paths identically.
 */
import path from 'node:path';
import type { Progress } from '../events.ts';
import type { StageContext } from '../stage-api.ts';

export interface StageInit {
  stage: string;
  params: unknown;
  /** Absolute repo root. */
  root: string;
  /** Declared outs (repo-relative, POSIX) and the temp paths they are written to instead. */
  redirects: { rel: string; abs: string }[];
  workDir: string;
  gpus: string[];
  threads: number;
}

export interface StageHooks {
  progress(p: Progress): void;
  log(line: string): void;
  signal: AbortSignal;
}

/** `a/./b/` -> `a/b`, backslashes to slashes, no leading `./`, no trailing slash. */
export function normaliseRel(rel: string): string {
  const n = path.posix.normalize(rel.replace(/\\/g, '/'));
  const trimmed = n.replace(/\/+$/, '');
  return trimmed === '' || trimmed === '.' ? '.' : trimmed.replace(/^\.\//, '');
}

/**
 * Resolves a repo-relative path for a stage: at or under a declared out, into
 * that out's temp path (the longest matching out wins, for nested outs);
 * otherwise into the repo. Absolute paths pass through unchanged.
 */
export function resolveStagePath(init: Pick<StageInit, 'root' | 'redirects'>, rel: string): string {
  if (path.isAbsolute(rel)) return path.normalize(rel);
  const n = normaliseRel(rel);
  let best: { rel: string; abs: string } | undefined;
  for (const r of init.redirects) {
    const rr = normaliseRel(r.rel);
    if ((n === rr || n.startsWith(rr + '/')) && (!best || rr.length > normaliseRel(best.rel).length)) best = { rel: rr, abs: r.abs };
  }
  if (!best) return path.join(init.root, n);
  const below = n === best.rel ? '' : n.slice(best.rel.length + 1);
  return below ? path.join(best.abs, ...below.split('/')) : best.abs;
}

/** Builds the context a whole stage's `run(ctx)` receives. */
export function makeStageContext(init: StageInit, hooks: StageHooks): StageContext<unknown> {
  return {
    stage: init.stage,
    params: init.params,
    root: init.root,
    path: (rel) => resolveStagePath(init, rel),
    workDir: init.workDir,
    progress: (p) => hooks.progress(p),
    log: (line) => hooks.log(line),
    signal: hooks.signal,
    gpus: [...init.gpus],
    threads: init.threads,
  };
}
