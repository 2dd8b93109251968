import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipeline, parsePipelineText } from '../../src/config/load.ts';
import type { Pipeline, StageInstance } from '../../src/model.ts';
import { FILE, fakeBuiltins, posOf } from './fake-builtins.ts';

function parse(text: string): Pipeline {
  const r = parsePipelineText(text, FILE, fakeBuiltins());
  if (!r.ok) throw new Error('expected success, got:\n' + r.error.map((f) => `${f.kind}: ${f.message} @${f.span?.line}:${f.span?.col}`).join('\n'));
  return r.value;
}
const stage = (p: Pipeline, name: string): StageInstance => {
  const s = p.stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}; have ${p.stages.map((x) => x.name).join(', ')}`);
  return s;
};

describe('vars', () => {
  const text = `# yaml-language-server: $schema=schema/pipeline.schema.json
vars:
  size: 128
  sets: [bright, dark]
  model: { arch: deeplab, widths: [16, 32] }
  root: data
  masks: \${root}/masks
  flag: true
stages:
  typed:
    cmd: run
    params:
      n: \${size}
      list: \${sets}
      obj: \${model}
      deep: \${model.widths.1}
      quoted: "\${size}"
      b: \${flag}
  text:
    cmd: echo size=\${size} arch=\${model.arch} sets=\${sets} $\${size} {in} {out} \${params.lr}
    params: { lr: 0.1, in-flow: \${size}, path: \${root}/x/\${size} }
    deps: [\${masks}]
`;
  it('keeps the type of a whole-string reference and stringifies inside longer strings', () => {
    const p = parse(text);
    const typed = stage(p, 'typed');
    expect(typed.params).toEqual({ n: 128, list: ['bright', 'dark'], obj: { arch: 'deeplab', widths: [16, 32] }, deep: 32, quoted: 128, b: true });
    const t = stage(p, 'text');
    expect(t.cmd).toBe('echo size=128 arch=deeplab sets=bright dark ${size} {in} {out} 0.1');
    expect(t.params).toEqual({ lr: 0.1, 'in-flow': 128, path: 'data/x/128' });
    expect(t.deps).toEqual(['data/masks']);
    expect(p.vars.masks).toBe('data/masks');
  });
  it('records the absolute file and its folder as root', () => {
    const p = parse(text);
    expect(p.file).toBe(FILE);
    expect(p.root).toBe('/repo');
  });
});

describe('foreach and matrix', () => {
  const text = `vars:
  sets: [bright, dark]
stages:
  convert:
    foreach: \${sets}
    uses: convert
    params: { masks: data/synth/\${item}/masks, out: work/labels/\${item} }
  literal:
    foreach: [1, 2.5, x]
    cmd: echo \${item}
    outs: [out/\${item}]
  evaluate:
    matrix:
      train: [bright, dark]
      test: \${sets}
      exclude: [{train: bright, test: bright}]
    cmd: eval --train \${train} --test \${test}
    metrics: [metrics/\${train}-\${test}.json]
`;
  it('names instances key@value and key@v1-v2 in key order, dropping excluded combinations', () => {
    const p = parse(text);
    expect(p.stages.map((s) => s.name)).toEqual([
      'convert@bright',
      'convert@dark',
      'literal@1',
      'literal@2.5',
      'literal@x',
      'evaluate@bright-dark',
      'evaluate@dark-bright',
      'evaluate@dark-dark',
    ]);
    const e = stage(p, 'evaluate@dark-bright');
    expect(e.template).toBe('evaluate');
    expect(e.bindings).toEqual({ train: 'dark', test: 'bright' });
    expect(e.cmd).toBe('eval --train dark --test bright');
    expect(e.metrics).toEqual(['metrics/dark-bright.json']);
    expect(stage(p, 'literal@2.5').bindings).toEqual({ item: '2.5' });
  });
  it('binds ${item} and takes a per-item built-in map from io()', () => {
    const c = stage(parse(text), 'convert@dark');
    expect(c.kind).toBe('uses');
    expect(c.uses).toBe('convert');
    expect(c.params).toEqual({ masks: 'data/synth/dark/masks', out: 'work/labels/dark', glob: '*.png' });
    expect(c.map).toMatchObject({ in: 'data/synth/dark/masks', out: 'work/labels/dark', glob: '*.png' });
    expect(c.deps).toContain('data/synth/dark/masks');
    expect(c.outs.map((o) => o.path)).toContain('work/labels/dark');
  });
  it('keeps the order of matrix keys as written', () => {
    const p = parse(`stages:
  e:
    matrix: { test: [a, b], train: [x] }
    cmd: e
`);
    expect(p.stages.map((s) => s.name)).toEqual(['e@a-x', 'e@b-x']);
  });
});

describe('uses stages', () => {
  it('fills param defaults, merges io() with user paths, and merges resources', () => {
    const p = parse(`stages:
  synth:
    uses: synth
    params:
      out: data/synth/
  train:
    uses: train
    params: { labels: work/labels, model: models/m, gpu: true }
    deps: [scripts/aug.py]
    outs: [{ path: work/tmp, cache: false }]
    resources: { cpu: 4 }
`);
    const s = stage(p, 'synth');
    expect(s.params).toEqual({ out: 'data/synth/', size: 64, sets: ['bright', 'dark'] });
    expect(s.outs).toEqual([expect.objectContaining({ path: 'data/synth/bright', cache: true }), expect.objectContaining({ path: 'data/synth/dark', cache: true })]);
    expect(s.resources).toEqual({ cpu: 1, gpu: 0 });
    const t = stage(p, 'train');
    expect(t.deps).toEqual(['scripts/aug.py', 'work/labels']);
    expect(t.outs.map((o) => [o.path, o.cache])).toEqual([
      ['work/tmp', false],
      ['models/m', true],
    ]);
    expect(t.metrics).toEqual(['models/m/metrics.json']);
    // stage says cpu 2 gpu 1; the user's cpu 4 wins
    expect(t.resources).toEqual({ cpu: 4, gpu: 1 });
  });
});

describe('cmd stages', () => {
  it('normalises paths and keeps env, wdir, params and map', () => {
    const p = parse(`stages:
  mine:
    cmd: python3 scripts/x.py --lr \${params.lr} data/in out/x
    deps: [./scripts/x.py, data//in/, data/in/../in2]
    outs: [out/x/, { path: out/big, cache: false }]
    metrics: [out/x/metrics.json]
    params: { lr: 0.1 }
    env: { OMP_NUM_THREADS: 2, MODE: fast }
    wdir: ./scripts/
  per-file:
    cmd: python3 scripts/one.py {in} {out}
    map: { in: data/images/, out: work/out, glob: "*.png" }
  all-files:
    cmd: cp {in} {out}
    map: { in: data/images, out: work/copy }
`);
    const m = stage(p, 'mine');
    expect(m.kind).toBe('cmd');
    expect(m.cmd).toBe('python3 scripts/x.py --lr 0.1 data/in out/x');
    expect(m.deps).toEqual(['scripts/x.py', 'data/in', 'data/in2']);
    expect(m.outs.map((o) => [o.path, o.cache])).toEqual([
      ['out/x', true],
      ['out/big', false],
    ]);
    expect(m.metrics).toEqual(['out/x/metrics.json']);
    expect(m.env).toEqual({ OMP_NUM_THREADS: '2', MODE: 'fast' });
    expect(m.wdir).toBe('scripts');
    expect(m.resources).toEqual({ cpu: 1, gpu: 0 });
    const f = stage(p, 'per-file');
    expect(f.cmd).toBe('python3 scripts/one.py {in} {out}');
    expect(f.map).toMatchObject({ in: 'data/images', out: 'work/out', glob: '*.png' });
    expect(f.deps).toEqual(['data/images']);
    expect(f.outs.map((o) => o.path)).toEqual(['work/out']);
    expect(stage(p, 'all-files').map?.glob).toBe('**/*');
    expect(stage(p, 'all-files').wdir).toBe('.');
  });
  it('records spans of the stage and of each field', () => {
    const text = `stages:
  mine:
    cmd: run
    deps: [a, b]
    params: { lr: 0.1 }
`;
    const m = stage(parse(text), 'mine');
    expect(m.span).toMatchObject({ file: FILE, ...posOf(text, 'mine') });
    expect(m.spans['deps.1']).toMatchObject(posOf(text, 'b]'));
    expect(m.spans['params.lr']).toMatchObject(posOf(text, '0.1'));
  });
  it('follows YAML anchors and merge keys', () => {
    const text = `vars:
  common: &common
    cmd: echo hi
    env: { A: "1" }
stages:
  a:
    <<: *common
    outs: [x]
  b:
    <<: *common
    outs: [y]
`;
    const p = parse(text);
    expect(stage(p, 'a')).toMatchObject({ cmd: 'echo hi', env: { A: '1' } });
    expect(stage(p, 'b').outs.map((o) => o.path)).toEqual(['y']);
    // a merged-in field points at where it is written
    expect(stage(p, 'b').spans.cmd).toMatchObject(posOf(text, 'cmd'));
  });
});

describe('loadPipeline', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  it('reads a file from disk with its folder as root', async () => {
    const file = path.join(dir, 'pipeline.yaml');
    await writeFile(file, 'stages:\n  a:\n    cmd: echo a\n    outs: [out]\n');
    const r = await loadPipeline(file, fakeBuiltins());
    expect(r.ok && r.value.root).toBe(dir);
    expect(r.ok && r.value.stages.map((s) => s.name)).toEqual(['a']);
  });
  it("gives an 'io' failure with a hint for a missing file", async () => {
    const r = await loadPipeline(path.join(dir, 'nope', 'pipeline.yaml'), fakeBuiltins());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error[0]).toMatchObject({ kind: 'io' });
    expect(r.error[0]!.message).toContain('nope');
    expect(r.error[0]!.hint).toBeTruthy();
  });
});

describe('executor and cluster resources', () => {
  it('reads the file-level executor:, a stage override, and job options (never part of the stage key)', () => {
    const p = parse(`
executor: slurm
vars:
  hours: "2:00:00"
stages:
  here:
    cmd: a
    executor: local
  there:
    cmd: b
    resources: { cpu: 4, gpu: 1, mem: 16G, time: \${hours}, partition: gpu, account: lab, gres: "gpu:a100:1", sbatch: [--qos=short], chunk: 50 }
  minutes:
    cmd: c
    resources: { mem: 500, time: 30 }
`);
    expect(p.executor).toBe('slurm');
    expect(stage(p, 'here').executor).toBe('local');
    expect(stage(p, 'there').executor).toBeUndefined();
    expect(stage(p, 'there').resources).toEqual({ cpu: 4, gpu: 1, mem: '16G', time: '2:00:00', partition: 'gpu', account: 'lab', gres: 'gpu:a100:1', sbatch: ['--qos=short'], chunk: 50 });
    expect(stage(p, 'minutes').resources).toEqual({ cpu: 1, gpu: 0, mem: '500', time: '30' });
  });

  it('refuses an unknown executor and a chunk below 1, pointing at them', () => {
    const r = parsePipelineText('executor: cluster\nstages:\n  a:\n    cmd: x\n    resources: { chunk: 0 }\n', FILE, fakeBuiltins());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.error.map((f) => `${f.message} @${f.span?.line}`).join('\n');
    expect(text).toMatch(/executor.*@1/);
    expect(text).toMatch(/chunk.*@5/);
  });
});
