#!/usr/bin/env node
// Entry point of the `pipe` command. Runs the bundled CLI when it has been
// built (`npm run build` = scripts/build.mjs, done by `npm ci` through
// `prepare`), else the TypeScript sources through tsx, so a fresh checkout
// works either way. Kept to a few built-in imports: it runs on every command.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const built = path.join(root, 'dist', 'src', 'cli', 'entry.js');
const source = path.join(root, 'src', 'cli', 'entry.ts');

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function fresh() {
  if (process.env.PIPE_FROM_SOURCE === '1' || !existsSync(built)) return false;
  // A dist older than the sources would silently run stale code while
  // developing; a few hundred stats cost about a millisecond.
  const built_at = statSync(built).mtimeMs;
  return ['src', 'stages'].every((d) => newestMtime(path.join(root, d)) <= built_at);
}

if (fresh()) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  // tsx would read the tsconfig of the folder pipe runs in (a user's project), which lacks ours
  // ("jsx": "react-jsx"): the Ink UI then fails with "React is not defined".
  register({ tsconfig: path.join(root, 'tsconfig.json') });
  await import(pathToFileURL(source).href);
}
