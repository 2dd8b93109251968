/**
 * Normalising the paths written in pipeline.yaml (and returned by stages'
 * `io()`) to one canonical form, so that the graph can compare them as strings:
 * repo-relative, POSIX separators, no `.` segments, no trailing slash.
 */
import path from 'node:path';
import { err, ok, type Result } from '../util/result.ts';

/** Why a path could not be normalised. */
export type PathProblem = 'absolute' | 'outside' | 'empty';

/**
 * The canonical repo-relative form of `p` (`.` for the repo root). Backslashes
 * are taken as separators so a pipeline written on Windows means the same here.
 */
export function normaliseRepoPath(p: string): Result<string, PathProblem> {
  const s = p.trim().replaceAll('\\', '/');
  if (s === '') return err('empty');
  if (s.startsWith('/') || /^[A-Za-z]:\//.test(s)) return err('absolute');
  const n = path.posix.normalize(s).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) return err('outside');
  return ok(n === '' ? '.' : n);
}

/** True when `inner` equals `outer` or lies below it (both canonical). */
export function isWithin(inner: string, outer: string): boolean {
  if (outer === '.') return true;
  return inner === outer || inner.startsWith(outer + '/');
}

/** True when one path equals or contains the other. */
export function overlaps(a: string, b: string): boolean {
  return isWithin(a, b) || isWithin(b, a);
}
