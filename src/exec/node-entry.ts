/**
 * How to start a Node entry point of ours in another process or thread: where
 * it is (the bundle in dist/ or the sources), and from the TypeScript sources
 * (dev, tests) it needs tsx's loader; from dist it does not.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

let root: string | undefined;

/**
 * The package root (holds package.json, src/ and stages/): the nearest folder
 * above this module with a package.json. Walking up works from the sources
 * (src/exec/), and from the bundle, where this code may sit in dist/chunks/.
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('pipe: cannot find its package.json');
    dir = up;
  }
  return (root = dir);
}

/** Whether this code runs from the bundle in `<root>/dist` (built by scripts/build.mjs) rather than the TypeScript sources. */
export function runningBuilt(): boolean {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.js') && here.startsWith(path.join(packageRoot(), 'dist') + path.sep);
}

/**
 * Absolute path of the entry module `rel` (from the package root, without
 * extension, e.g. 'src/exec/item-worker'): `<root>/dist/<rel>.js` when running
 * built, `<root>/<rel>.ts` from the sources. Only for modules that are entry
 * points of the build: scripts/build.mjs makes one of every literal argument
 * of an `entryModule(...)` call, which is why `rel` must be a plain string.
 */
export function entryModule(rel: string): string {
  return runningBuilt() ? path.join(packageRoot(), 'dist', `${rel}.js`) : path.join(packageRoot(), `${rel}.ts`);
}
