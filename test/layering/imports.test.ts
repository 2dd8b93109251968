/**
 * The engine's layering, checked on the real sources: stages reach the engine
 * through one door (src/stage-api.ts), and src/ has no import circles.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PKG_ROOT } from '../helpers/repo.ts';
import { importCircles, importGraph, specifiers, tsFiles } from './import-graph.ts';

const rel = (f: string) => path.relative(PKG_ROOT, f).split(path.sep).join('/');

describe('import graph walk', () => {
  it('finds every form of import and a circle through a type-only import', () => {
    const found = specifiers(`import a from './a.ts';\nimport type { B } from "./b.ts";\nexport * from './c.ts';\nimport './d.ts';\nconst e = await import('./e.ts');\nexport { f } from './f.ts';`);
    expect(found.sort()).toEqual([
      './a.ts',
      './b.ts',
      './c.ts',
      './d.ts',
      './e.ts',
      './f.ts',
    ]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pipe-layering-'));
    try {
      mkdirSync(path.join(dir, 'x'));
      writeFileSync(path.join(dir, 'a.ts'), `import { b } from './x/b.ts';\nexport const a = 1;\n`);
      writeFileSync(path.join(dir, 'x', 'b.ts'), `import type { C } from '../c.ts';\nexport const b = 2;\n`);
      writeFileSync(path.join(dir, 'c.ts'), `import { a } from './a.ts';\nexport type C = number;\n`);
      writeFileSync(path.join(dir, 'd.ts'), `import { a } from './a.ts';\n`);
      const circles = importCircles(importGraph(tsFiles(dir))).map((c) => c.map((f) => path.relative(dir, f)));
      expect(circles).toEqual([['a.ts', 'c.ts', path.join('x', 'b.ts')]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('layering of the real sources', () => {
  it('no file under stages/ imports a src/ path other than src/stage-api.ts', () => {
    const door = path.join(PKG_ROOT, 'src', 'stage-api.ts');
    const src = path.join(PKG_ROOT, 'src') + path.sep;
    const files = tsFiles(path.join(PKG_ROOT, 'stages'));
    expect(files.length).toBeGreaterThan(20);
    const bad = [...importGraph(files)].flatMap(([f, deps]) => deps.filter((d) => d.startsWith(src) && d !== door).map((d) => `${rel(f)} imports ${rel(d)}`));
    expect(bad).toEqual([]);
  });

  it('src/ has no import circles', () => {
    const circles = importCircles(importGraph(tsFiles(path.join(PKG_ROOT, 'src'))));
    expect(circles.map((c) => c.map(rel).join(' -> '))).toEqual([]);
  });
});
