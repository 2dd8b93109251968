/**
 * Finds the built-in stages under `stages/<name>/index.ts` and fingerprints
 * their sources. Stage modules must import heavy libraries (tfjs, OpenCV,
 * sharp) lazily inside `run`/`processItem`, so loading the registry stays
 * cheap for `pipe status`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot, runningBuilt } from '../exec/node-entry.ts';
import type { Stage } from '../stage-api.ts';

export interface BuiltinStage {
  stage: Stage;
  /** Absolute path of the module to import in a worker or child process. */
  modulePath: string;
  /** Absolute paths of the source files whose content makes the stage's code hash. */
  sourceFiles: string[];
}

export { packageRoot };

/**
 * The folder of stage modules to import: the compiled copy when running from
 * dist, the TypeScript sources otherwise. Code hashes always use the sources
 * (see `sourceFiles`), so both give the same stage keys.
 */
function stagesRuntimeDir(root: string): { dir: string; ext: string } {
  // Each built-in stage's index is an entry point of the build (scripts/build.mjs).
  if (runningBuilt()) return { dir: path.join(root, 'dist', 'stages'), ext: '.js' };
  return { dir: path.join(root, 'stages'), ext: '.ts' };
}

const IMPORT_RE = /(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]|entryModule\(\s*['"]([^'"]+)['"]/g;

/**
 * The stage's own source files: its index and everything it reaches through
 * relative imports (static, dynamic, or `new URL('./worker.ts', ...)`) and the
 * worker modules it starts (`entryModule('stages/x/worker')`, from the package
 * root), so a change to shared code reruns exactly the stages that use it.
 */
async function listSources(entry: string, boundary: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3];
      const target = spec ? path.resolve(path.dirname(file), spec) : m[4] ? path.join(packageRoot(), `${m[4]}.ts`) : undefined;
      if (!target) continue;
      // The engine (src/) is not part of a stage's code: a better error
      // message in pipe must not rerun every stage of every pipeline.
      if (!target.startsWith(boundary + path.sep)) continue;
      // Sources import `.ts`; a `.js` specifier in a .ts file means the .ts beside it.
      queue.push(existsSync(target) ? target : target.replace(/\.js$/, '.ts'));
    }
  }
  return [...seen].sort();
}

let loadedAll: Promise<Map<string, BuiltinStage>> | undefined;
let tsxRegistered: Promise<void> | undefined;

/** Lets the compiled CLI load a user's TypeScript stage (PIPE_STAGES_PATH). */
function registerTsx(): Promise<void> {
  tsxRegistered ??= import('tsx/esm/api').then((m) => void m.register());
  return tsxRegistered;
}

async function loadFrom(srcDir: string, runDir: string, exts: string[], map: Map<string, BuiltinStage>, only?: Set<string>): Promise<void> {
  for (const entry of await readdir(srcDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'lib' || (only && !only.has(entry.name))) continue;
    const modulePath = exts.map((ext) => path.join(runDir, entry.name, `index${ext}`)).find((p) => existsSync(p));
    if (!modulePath) continue;
    if (modulePath.endsWith('.ts') && runningBuilt()) await registerTsx();
    const mod = (await import(pathToFileURL(modulePath).href)) as { default?: Stage };
    if (!mod.default) throw new Error(`${modulePath} must export a default stage`);
    const sourceEntry = ['.ts', '.js', '.mjs'].map((ext) => path.join(srcDir, entry.name, `index${ext}`)).find((p) => existsSync(p))!;
    map.set(mod.default.name, { stage: mod.default, modulePath, sourceFiles: await listSources(sourceEntry, srcDir) });
  }
}

async function loadWith(only?: Set<string>): Promise<Map<string, BuiltinStage>> {
  const root = packageRoot();
  const { dir: runDir, ext } = stagesRuntimeDir(root);
  const map = new Map<string, BuiltinStage>();
  await loadFrom(path.join(root, 'stages'), runDir, [ext], map, only);
  for (const dir of (process.env.PIPE_STAGES_PATH ?? '').split(path.delimiter).filter(Boolean)) {
    await loadFrom(path.resolve(dir), path.resolve(dir), ['.js', '.mjs', '.ts'], map, only);
  }
  return map;
}

/**
 * Loads the built-in stages under `stages/`, then those in the folders of
 * PIPE_STAGES_PATH (colon-separated; each holds `<name>/index.ts` or `.js`),
 * which may add stages or replace built-ins of the same name. With `only`,
 * just the stages in folders of those names (a pipeline's `uses:`), which
 * keeps `pipe status` quick; if one of them is not found that way (a stage
 * whose name differs from its folder), everything is loaded.
 */
export async function loadBuiltins(only?: Iterable<string>): Promise<Map<string, BuiltinStage>> {
  if (!only || loadedAll) return (loadedAll ??= loadWith());
  const names = new Set(only);
  const some = await loadWith(names);
  if ([...names].every((n) => some.has(n))) return some;
  return (loadedAll ??= loadWith());
}

/** Reads the source files of a stage (for its code hash), in a fixed order. */
export async function readStageSources(b: BuiltinStage): Promise<{ file: string; text: string }[]> {
  const root = packageRoot();
  return Promise.all(
    // Paths relative to the package root keep keys equal across machines;
    // stages from PIPE_STAGES_PATH are named by their absolute path instead.
    b.sourceFiles.map(async (f) => ({ file: (f.startsWith(root) ? path.relative(root, f) : f).split(path.sep).join('/'), text: await readFile(f, 'utf8') })),
  );
}
