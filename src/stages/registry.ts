/**
 * Finds the built-in stages under `stages/<name>/index.ts` and fingerprints
 * their sources. Stage modules must import heavy libraries (tfjs, OpenCV,
 * sharp) lazily inside `run`/`processItem`, so loading the registry stays
 * cheap for `pipe status`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Stage } from '../stage-api.ts';

export interface BuiltinStage {
  stage: Stage;
  /** Absolute path of the module to import in a worker or child process. */
  modulePath: string;
  /** Absolute paths of the source files whose content makes the stage's code hash. */
  sourceFiles: string[];
}

/** The package root (holds package.json and stages/), whether run from src or dist. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('pipe: cannot find its package.json');
    dir = up;
  }
  return dir;
}

/**
 * The folder of stage modules to import: the compiled copy when running from
 * dist, the TypeScript sources otherwise. Code hashes always use the sources
 * (see `sourceFiles`), so both give the same stage keys.
 */
function stagesRuntimeDir(root: string): { dir: string; ext: string } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return { dir: path.join(root, 'dist', 'stages'), ext: '.js' };
  return { dir: path.join(root, 'stages'), ext: '.ts' };
}

async function listSources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listSources(abs)));
    else if (/\.(ts|tsx|js|mjs|json|glsl|py)$/.test(entry.name) && !entry.name.endsWith('.test.ts')) out.push(abs);
  }
  return out.sort();
}

let loaded: Promise<Map<string, BuiltinStage>> | undefined;

/** Loads every built-in stage once per process. */
export function loadBuiltins(): Promise<Map<string, BuiltinStage>> {
  loaded ??= (async () => {
    const root = packageRoot();
    const srcDir = path.join(root, 'stages');
    const { dir: runDir, ext } = stagesRuntimeDir(root);
    const map = new Map<string, BuiltinStage>();
    // `lib/` holds code shared by stages; every stage's code hash includes it
    // because any stage may import from it.
    const libSources = existsSync(path.join(srcDir, 'lib')) ? await listSources(path.join(srcDir, 'lib')) : [];
    for (const entry of await readdir(srcDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === 'lib') continue;
      const modulePath = path.join(runDir, entry.name, `index${ext}`);
      if (!existsSync(modulePath)) continue;
      const mod = (await import(pathToFileURL(modulePath).href)) as { default?: Stage };
      if (!mod.default) throw new Error(`stages/${entry.name}/index must export a default stage`);
      const own = await listSources(path.join(srcDir, entry.name));
      map.set(mod.default.name, { stage: mod.default, modulePath, sourceFiles: [...own, ...libSources] });
    }
    return map;
  })();
  return loaded;
}

/** Reads the source files of a stage (for its code hash), in a fixed order. */
export async function readStageSources(b: BuiltinStage): Promise<{ file: string; text: string }[]> {
  const root = packageRoot();
  return Promise.all(
    b.sourceFiles.map(async (f) => ({ file: path.relative(root, f).split(path.sep).join('/'), text: await readFile(f, 'utf8') })),
  );
}
