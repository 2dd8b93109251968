import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineText } from '../src/config/load.ts';
import type { Failure } from '../src/failure.ts';
import { buildGraph, findMissingDeps, selectStages, type Graph } from '../src/graph.ts';
import type { Pipeline } from '../src/model.ts';
import { FILE, fakeBuiltins, posOf } from './config/fake-builtins.ts';

function pipeline(text: string, file = FILE): Pipeline {
  const r = parsePipelineText(text, file, fakeBuiltins());
  if (!r.ok) throw new Error(r.error.map((f) => f.message).join('\n'));
  return r.value;
}
function graph(text: string, file = FILE): Graph {
  const r = buildGraph(pipeline(text, file));
  if (!r.ok) throw new Error(r.error.map((f) => f.message).join('\n'));
  return r.value;
}
function graphFailures(text: string): Failure[] {
  const r = buildGraph(pipeline(text));
  if (r.ok) throw new Error('expected graph failures');
  return r.error;
}

// Consumers are written before producers on purpose: order must come from the edges.
const STUDY = `vars:
  sets: [bright, dark]
stages:
  report:
    cmd: python3 report.py
    deps: [metrics]
    outs: [report.html]
  evaluate:
    matrix: { train: \${sets}, test: \${sets} }
    cmd: eval \${train} \${test}
    deps: [models/\${train}/best.pt, work/labels/\${test}]
    metrics: [metrics/\${train}-\${test}.json]
  train:
    foreach: \${sets}
    uses: train
    params: { labels: work/labels/\${item}, model: models/\${item} }
  convert:
    foreach: \${sets}
    uses: convert
    params: { masks: data/synth/\${item}/masks, out: work/labels/\${item} }
  synth:
    uses: synth
    params: { out: data/synth }
  lonely:
    cmd: echo hi
    outs: [lonely.txt]
`;

describe('buildGraph', () => {
  it('links stages through equal, inner and outer paths, including map.in and metrics', () => {
    const g = graph(STUDY);
    // convert's map.in lies inside synth's out data/synth/bright
    expect(g.upstream.get('convert@bright')).toEqual(['synth']);
    // train's dep equals convert's map.out
    expect(g.upstream.get('train@dark')).toEqual(['convert@dark']);
    // evaluate's dep models/dark/best.pt lies inside train's out models/dark
    expect(g.upstream.get('evaluate@dark-bright')).toEqual(['train@dark', 'convert@bright']);
    // report's dep metrics contains every evaluate metric
    expect(g.upstream.get('report')).toEqual(['evaluate@bright-bright', 'evaluate@bright-dark', 'evaluate@dark-bright', 'evaluate@dark-dark']);
    expect(g.downstream.get('synth')).toEqual(['convert@bright', 'convert@dark']);
    expect(g.downstream.get('report')).toEqual([]);
    expect(g.upstream.get('lonely')).toEqual([]);
  });

  it('orders topologically, taking the earliest stage in the file whenever several are ready', () => {
    const g = graph(STUDY);
    expect(g.order).toEqual([
      'synth',
      'convert@bright',
      'train@bright',
      'evaluate@bright-bright',
      'convert@dark',
      'evaluate@bright-dark',
      'train@dark',
      'evaluate@dark-bright',
      'evaluate@dark-dark',
      'report',
      'lonely',
    ]);
    for (const [s, ups] of g.upstream) for (const u of ups) expect(g.order.indexOf(u)).toBeLessThan(g.order.indexOf(s));
  });

  it('keeps file order for independent stages', () => {
    expect(graph('stages:\n  z:\n    cmd: z\n  a:\n    cmd: a\n  m:\n    cmd: m\n').order).toEqual(['z', 'a', 'm']);
  });

  it('finds the producer of a path, its parents not its children', () => {
    const g = graph(STUDY);
    expect(g.producerOf('models/dark')).toBe('train@dark');
    expect(g.producerOf('models/dark/best.pt')).toBe('train@dark');
    expect(g.producerOf('./work/labels/bright/x.png')).toBe('convert@bright');
    expect(g.producerOf('models/dark/metrics.json')).toBe('train@dark');
    expect(g.producerOf('models')).toBeUndefined();
    expect(g.producerOf('nothing')).toBeUndefined();
  });

  it('names every stage and linking path of a cycle', () => {
    const fs = graphFailures(`stages:
  train:
    foreach: [dark]
    cmd: train
    deps: [eval/\${item}/hard.txt]
    outs: [models/\${item}]
  evaluate:
    foreach: [dark]
    cmd: eval
    deps: [models/\${item}]
    outs: [eval/\${item}]
  ok:
    cmd: fine
    outs: [x]
`);
    expect(fs).toHaveLength(1);
    expect(fs[0]!.kind).toBe('cycle');
    expect(fs[0]!.message).toBe('Cycle: train@dark -> evaluate@dark (via models/dark) -> train@dark (via eval/dark/hard.txt).');
  });

  it('reports a longer cycle and a stage reading its own output as cycles', () => {
    const fs = graphFailures(`stages:
  a:
    cmd: a
    deps: [c.txt]
    outs: [a.txt]
  b:
    cmd: b
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: c
    deps: [b.txt]
    outs: [c.txt]
  self:
    cmd: s
    deps: [out/self/cfg.json]
    outs: [out/self]
`);
    expect(fs.map((f) => f.message)).toEqual([
      'Cycle: a -> b (via a.txt) -> c (via b.txt) -> a (via c.txt).',
      'Cycle: self -> self (via out/self/cfg.json).',
    ]);
    expect(fs.every((f) => f.kind === 'cycle')).toBe(true);
  });

  it('reports two stages writing the same path, with both positions', () => {
    const text = `stages:
  one:
    cmd: a
    outs: [shared/out]
  two:
    cmd: b
    outs: [other, shared/out/]
`;
    const fs = graphFailures(text);
    expect(fs).toHaveLength(1);
    expect(fs[0]!.kind).toBe('duplicate-out');
    expect(fs[0]!.message).toContain("'one'");
    expect(fs[0]!.message).toContain("'two'");
    expect(fs[0]!.span).toMatchObject(posOf(text, 'shared/out', 1));
    expect(fs[0]!.causes?.[0]?.span).toMatchObject(posOf(text, 'shared/out', 0));
  });

  it('reports an out inside another stage\u2019s out, and foreach instances sharing an out', () => {
    const fs = graphFailures(`stages:
  outer:
    cmd: a
    outs: [work]
  inner:
    cmd: b
    metrics: [work/m.json]
  fan:
    foreach: [x, y]
    cmd: c
    outs: [same]
`);
    expect(fs.map((f) => f.kind)).toEqual(['duplicate-out', 'duplicate-out']);
    expect(fs.find((f) => f.message.includes('lies inside'))!.message).toMatch(/'work\/m.json' of stage 'inner'.*'work', written by stage 'outer'/);
    expect(fs.some((f) => f.message.includes("'fan@x'") && f.message.includes("'fan@y'"))).toBe(true);
  });

  it('lets one stage write a folder and a metrics file inside it', () => {
    const g = graph(`stages:
  t:
    uses: train
    params: { labels: l, model: m }
`);
    expect(g.order).toEqual(['t']);
  });
});

describe('selectStages', () => {
  const g = graph(STUDY);
  it('selects an instance with its upstream, in topological order', () => {
    const r = selectStages(g, ['train@dark']);
    expect(r).toEqual({ ok: true, value: ['synth', 'convert@dark', 'train@dark'] });
  });
  it('selects all instances of a template', () => {
    const r = selectStages(g, ['train'], { upstream: false });
    expect(r).toEqual({ ok: true, value: ['train@bright', 'train@dark'] });
  });
  it('selects only the targets without upstream, in topological order whatever the argument order', () => {
    const r = selectStages(g, ['report', 'lonely', 'convert@dark'], { upstream: false });
    expect(r).toEqual({ ok: true, value: ['convert@dark', 'report', 'lonely'] });
  });
  it('accepts a path some stage writes', () => {
    expect(selectStages(g, ['models/bright/best.pt'], { upstream: false })).toEqual({ ok: true, value: ['train@bright'] });
  });
  it("fails with 'unknown-stage' and suggestions", () => {
    const r = selectStages(g, ['trian@dark']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('unknown-stage');
    expect(r.error.message).toContain("'train@dark'");
    expect(r.error.hint).toContain('evaluate');
  });
});

describe('findMissingDeps', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-graph-'));
    await mkdir(path.join(dir, 'scripts'), { recursive: true });
    await writeFile(path.join(dir, 'scripts', 'x.py'), 'print(1)\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports deps that neither exist nor are produced, once each, at the dep', () => {
    const text = `stages:
  mine:
    cmd: python3 scripts/x.py
    deps: [scripts/x.py, data/in, made/by/gen/file.txt, made]
    outs: [out/x]
  again:
    cmd: python3 scripts/y.py
    deps: [scripts/y.py, data/in]
    outs: [out/y]
  gen:
    cmd: gen
    outs: [made/by/gen]
`;
    const file = path.join(dir, 'pipeline.yaml');
    const g = graph(text, file);
    const asked: string[] = [];
    const fs = findMissingDeps(g, (rel) => {
      asked.push(rel);
      return existsSync(path.join(dir, rel));
    });
    expect(fs.map((f) => f.kind)).toEqual(['missing-dep', 'missing-dep']);
    const dataIn = fs.find((f) => f.message.includes("'data/in'"))!;
    expect(dataIn.message).toContain("needed by 'mine', 'again'");
    expect(dataIn.span).toMatchObject({ file, ...posOf(text, 'data/in') });
    const y = fs.find((f) => f.message.includes('scripts/y.py'))!;
    expect(y.span).toMatchObject(posOf(text, 'scripts/y.py,'));
    // produced paths (inside or around an out) are never looked up on disk
    expect(asked).not.toContain('made/by/gen/file.txt');
    expect(asked).not.toContain('made');
  });

  it('reports nothing when every dep exists or is produced', () => {
    const g = graph(STUDY);
    expect(findMissingDeps(g, () => false)).toEqual([]);
  });
});
