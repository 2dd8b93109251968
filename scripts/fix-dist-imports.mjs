// After `tsc`: rewrite relative `import('./x.ts')` specifiers left in dist/.
// TypeScript 5.9's rewriteRelativeImportExtensions misses dynamic imports
// inside call arguments (e.g. inside `defineStage({ async run() { ... } })`),
// which would make the compiled stages fail to load their own modules.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'dist');
let fixed = 0;
function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (p.endsWith('.js')) {
      const text = readFileSync(p, 'utf8');
      const next = text.replace(/import\((\s*)(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, (_, ws, q, spec) => `import(${ws}${q}${spec}.js${q}`);
      if (next !== text) {
        writeFileSync(p, next);
        fixed++;
      }
    }
  }
}
walk(root);
if (process.env.PIPE_BUILD_VERBOSE) console.log(`fixed dynamic imports in ${fixed} file(s)`);
