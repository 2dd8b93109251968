/**
 * Where a path from an untrusted file really leads. The lock, a folder
 * manifest and a pulled run record all come from git or a remote, and git
 * stores symlinks: `outs: [link/victim.txt]` with `link -> /home/me` passes a
 * string check and then writes through the link. Before pipe writes an out
 * (run, restore, checkout, pull) the path is checked here: relative, no `..`,
 * and every existing folder on the way resolved with its symlinks followed,
 * refused when it leaves the repo (DESIGN habit 16; git refuses checkouts
 * through symlinked folders for the same reason).
 */
import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { failure, type Failure } from '../failure.ts';
import { normaliseRepoPath } from '../config/paths.ts';
import { err, ok, type Result } from './result.ts';

/**
 * true when `p` is a safe relative path inside a folder: `/`-separated, not
 * absolute, no empty, `.` or `..` segment. For manifest entries and item files.
 */
export function isSafeRelative(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\\') || p.includes('\0') || /^[A-Za-z]:/.test(p)) return false;
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

function within(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);
}

/**
 * The absolute path of repo-relative `rel` under `root`, once it is certain
 * that writing there stays inside the repo; else a 'path-outside-repo'
 * failure naming the path, the link that leads out and `source` (the file the
 * path came from, e.g. pipeline.lock). The last segment itself may be a
 * symlink: writes replace it (rename), they never write through it.
 */
export function resolveInsideRepo(root: string, rel: string, source: string): Result<string, Failure> {
  const hint = `remove or fix that entry in ${source}; pipe writes only inside the repo`;
  const norm = normaliseRepoPath(rel);
  if (!norm.ok || norm.value === '.' || norm.value !== rel.replace(/\/+$/, '')) {
    const why = !norm.ok && norm.error === 'absolute' ? 'is absolute' : !norm.ok ? 'leads outside the repo' : 'is not a plain repo path';
    return err(failure('path-outside-repo', `${source}: the output path ${JSON.stringify(rel)} ${why}; refusing to write it`, { file: source, hint }));
  }
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    realRoot = path.resolve(root);
  }
  const segs = norm.value.split('/');
  let at = path.resolve(root);
  for (const seg of segs.slice(0, -1)) {
    at = path.join(at, seg);
    const st = lstatSync(at, { throwIfNoEntry: false });
    if (!st) break; // the rest does not exist yet: mkdir creates real folders inside the repo
    if (!st.isSymbolicLink()) continue;
    let target: string;
    try {
      target = realpathSync(at);
    } catch {
      target = '(a dangling link)';
    }
    if (!within(target, realRoot)) {
      const link = path.relative(root, at).split(path.sep).join('/');
      return err(
        failure('path-outside-repo', `${source}: the output ${norm.value} would be written through the symlink ${link} -> ${target}, which leaves the repo; refusing`, {
          file: at,
          hint: `replace the symlink ${link} with a real folder, or change the path in ${source}; pipe writes only inside the repo`,
        }),
      );
    }
  }
  return ok(path.join(root, ...segs));
}
