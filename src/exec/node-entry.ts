/**
 * How to start a Node entry point of ours in another process or thread: from
 * the TypeScript sources (dev, tests) it needs tsx's loader; from dist it does not.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

let tsxLoader: string | undefined;
let tsxApi: string | undefined;

/** File URL of tsx's `--import` loader, resolved from this package so any cwd works. */
export function tsxLoaderUrl(): string {
  // createRequire rather than import.meta.resolve: the latter is missing under some test runners.
  tsxLoader ??= pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return tsxLoader;
}

/** File URL of tsx's ESM `register()` API, for worker threads (which ignore `--import` in execArgv). */
export function tsxApiUrl(): string {
  if (tsxApi) return tsxApi;
  // require.resolve would pick the CommonJS build (the 'require' condition);
  // workers need the ESM one, so read the 'import' target from tsx's exports map.
  const pkgFile = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> };
  const rel = pkg.exports?.['./esm/api']?.import?.default ?? './dist/esm/api/index.mjs';
  tsxApi = pathToFileURL(path.join(path.dirname(pkgFile), rel)).href;
  return tsxApi;
}

/**
 * Node arguments to run `entryAbs`: `['--import', <tsx>, entryAbs]` when it or
 * a module it will load (a user's stage from PIPE_STAGES_PATH) is `.ts`.
 */
export function nodeArgsFor(entryAbs: string, ...loads: string[]): string[] {
  return [entryAbs, ...loads].some((f) => f.endsWith('.ts')) ? ['--import', tsxLoaderUrl(), entryAbs] : [entryAbs];
}

/** The sibling module `name` (without extension) of `fromUrl`, with the same extension (.ts in sources, .js in dist). */
export function siblingEntry(fromUrl: string, name: string): URL {
  const ext = fromUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, fromUrl);
}
