/** Built-in stages and what their code hash covers. */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadBuiltins, packageRoot } from '../../src/stages/registry.ts';
import { usedStageNames } from '../../src/run/session.ts';

describe('built-in stage registry', () => {
  // First in the file: once everything is loaded, the registry returns everything.
  it('loads only the stages a pipeline uses, and everything when one is not found by folder', async () => {
    expect([...(await loadBuiltins(['synth', 'convert'])).keys()].sort()).toEqual(['convert', 'synth']);
    expect([...(await loadBuiltins(['no-such-stage'])).keys()]).toContain('train');
  });

  it('reads the used stage names from pipeline text', () => {
    expect(usedStageNames('stages:\n  a:\n    uses: synth\n  b: { uses: "convert", params: {} }\n')).toEqual(['synth', 'convert']);
    expect(usedStageNames('stages:\n  a:\n    uses: ${which}\n')).toBeUndefined();
    expect(usedStageNames('stages:\n  a:\n    cmd: echo\n')).toEqual([]);
  });

  it('finds every built-in stage', async () => {
    const names = [...(await loadBuiltins()).keys()].sort();
    expect(names).toEqual(expect.arrayContaining(['convert', 'deglare', 'enhance', 'evaluate', 'synth', 'train']));
  });

  it("hashes a stage's own sources and the shared code it imports, not other stages' code nor the engine", async () => {
    const rel = (files: string[]) => files.map((f) => path.relative(packageRoot(), f).split(path.sep).join('/'));
    const b = await loadBuiltins();
    const deglare = rel(b.get('deglare')!.sourceFiles);
    expect(deglare).toContain('stages/deglare/index.ts');
    expect(deglare).toContain('stages/deglare/deglare.ts'); // reached by a dynamic import
    expect(deglare).toContain('stages/lib/image/opencv.ts');
    expect(deglare.some((f) => f.startsWith('stages/lib/tf/'))).toBe(false);
    expect(deglare.some((f) => f.startsWith('src/'))).toBe(false);
    const synth = rel(b.get('synth')!.sourceFiles);
    expect(synth).toContain('stages/synth/worker.ts'); // reached through new URL(...)
    // synth writes the study's colours, so it hashes the one palette module (and the image types it names),
    // and nothing else of the image library: a change to inpainting or PNG writing must not rerun the renderer.
    expect(synth).toContain('stages/lib/image/palette.ts');
    const ownImageLib = ['stages/lib/image/palette.ts', 'stages/lib/image/types.ts'];
    expect(synth.filter((f) => f.startsWith('stages/lib/image/') && !ownImageLib.includes(f))).toEqual([]);
  });
});

describe('what model consumers depend on', () => {
  it("evaluate and train's init depend on a model's own files, not on the timings train writes beside them", async () => {
    const b = await loadBuiltins(['evaluate', 'train']);
    const evaluate = b.get('evaluate')!.stage;
    const ep = evaluate.params.parse({ model: 'models/m', images: 'img', labels: 'lab', out: 'res' });
    const deps = evaluate.io(ep).deps;
    expect(deps).toEqual(expect.arrayContaining(['models/m/model.json', 'models/m/weights.bin']));
    // The folder itself would take in train.json's seconds and curve.csv's images/s: a new key on every run.
    expect(deps).not.toContain('models/m');
    expect(deps.some((d) => d.endsWith('train.json') || d.endsWith('curve.csv'))).toBe(false);
    const train = b.get('train')!.stage;
    const tp = train.params.parse({ images: 'img', labels: 'lab', out: 'models/n', init: 'models/m' });
    expect(train.io(tp).deps).toEqual(expect.arrayContaining(['models/m/model.json', 'models/m/weights.bin']));
    expect(train.io(tp).deps).not.toContain('models/m');
  });
});
