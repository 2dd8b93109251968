// Builds dist/ with esbuild: one bundled, code-split ESM build, so `pipe`
// starts by reading a handful of files instead of ~40 compiled modules plus
// every file of zod, yaml, ... (module loading dominated a no-op `pipe status`).
//
// Entry points are the modules Node starts or imports by path at run time:
// the CLI, every built-in stage (stages/<name>/index.ts, imported by the
// registry) and every module named in an `entryModule('<path>')` call
// (worker threads, child processes). They keep their paths under dist/
// (dist/src/cli/entry.js, dist/stages/train/index.js, ...); code they share
// goes to dist/chunks/, so the engine and the stages it imports share ONE
// copy of each module (the stage API, zod, ...).
//
// Usage: node scripts/build.mjs [--outdir <dir>] [--metafile <file>]
// The build goes to a temporary folder beside the target, which then replaces
// it, so a failed build never leaves half a dist/.
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Packages left to Node at run time: native code (sharp), very large or
 * loaded only by heavy stages (OpenCV, tfjs, vega, playwright), or used to
 * load TypeScript (tsx); react-devtools-core is an optional peer that Ink
 * imports only with DEV=true. Everything else is bundled, Ink and React
 * included: loaded from node_modules they cost a TTY `pipe run` about half a
 * second of CPU more (measured on a 2-core machine).
 */
const EXTERNAL = ['sharp', '@techstark/*', '@tensorflow/*', 'tsx', 'vega', 'vega-lite', 'playwright-core', 'react-devtools-core'];

/** Every `.ts` file under `dir` (recursively). */
function tsFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts') || e.name.endsWith('.tsx')) out.push(p);
  }
  return out;
}

// Matches `entryModule('src/exec/item-worker')`: the runtime helper that
// locates entry modules (src/exec/node-entry.ts). Collecting its literal
// arguments keeps this list and the code that starts workers in step.
const ENTRY_CALL = /\bentryModule\(\s*['"]([^'"]+)['"]\s*\)/g;
// Comments (which may show such a call as an example) are not code.
const COMMENT = /\/\*[\s\S]*?\*\/|(^|[^:'"`\\])\/\/.*$/gm;

/** Entry points, relative to the package root. */
export function entryPoints() {
  const entries = new Set(['src/cli/entry.ts']);
  const stagesDir = path.join(root, 'stages');
  for (const e of readdirSync(stagesDir, { withFileTypes: true })) {
    if (e.isDirectory() && e.name !== 'lib' && existsSync(path.join(stagesDir, e.name, 'index.ts'))) entries.add(`stages/${e.name}/index.ts`);
  }
  for (const file of [...tsFiles(path.join(root, 'src')), ...tsFiles(stagesDir)]) {
    for (const m of readFileSync(file, 'utf8').replace(COMMENT, '$1').matchAll(ENTRY_CALL)) {
      const rel = `${m[1]}.ts`;
      if (!existsSync(path.join(root, rel))) {
        throw new Error(`${path.relative(root, file)}: entryModule('${m[1]}') names ${rel}, which does not exist`);
      }
      entries.add(rel);
    }
  }
  return [...entries].sort();
}

async function main() {
  const { values } = parseArgs({ options: { outdir: { type: 'string' }, metafile: { type: 'string' } } });
  const outdir = path.resolve(root, values.outdir ?? 'dist');
  const tmp = `${outdir}.tmp-${process.pid}`;
  const old = `${outdir}.old-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    const result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: entryPoints(),
      outbase: '.',
      outdir: tmp,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'bundle',
      external: EXTERNAL,
      chunkNames: 'chunks/[name]-[hash]',
      // Bundled CommonJS packages (yaml, picomatch, ...) call require() for
      // Node's built-ins; an ES module has no require, so give each output one.
      banner: { js: 'import { createRequire as __pipeCreateRequire } from "node:module"; const require = __pipeCreateRequire(import.meta.url);' },
      // Computed imports (optional tfjs-node) are meant to be resolved at run time.
      logOverride: { 'unsupported-dynamic-import': 'silent' },
      metafile: Boolean(values.metafile),
      logLevel: 'warning',
    });
    if (values.metafile) writeFileSync(path.resolve(values.metafile), JSON.stringify(result.metafile));
    // Two renames: a folder cannot be renamed over a non-empty one. Between
    // them there is no dist/ for a moment, never a half-written one.
    if (existsSync(outdir)) renameSync(outdir, old);
    try {
      renameSync(tmp, outdir);
    } catch (e) {
      if (existsSync(old) && !existsSync(outdir)) renameSync(old, outdir);
      throw e;
    }
  } catch (e) {
    // esbuild has already printed its errors with file positions.
    if (!(e && typeof e === 'object' && 'errors' in e)) console.error(e);
    process.exitCode = 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

// Importable (tests read entryPoints()) without building.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
