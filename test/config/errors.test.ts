import { describe, expect, it } from 'vitest';
import { parsePipelineText } from '../../src/config/load.ts';
import type { Failure } from '../../src/failure.ts';
import { FILE, fakeBuiltins, nested, posOf } from './fake-builtins.ts';

function failures(text: string): Failure[] {
  const r = parsePipelineText(text, FILE, fakeBuiltins());
  if (r.ok) throw new Error('expected failures, got a pipeline with ' + r.value.stages.map((s) => s.name).join(', '));
  return r.error;
}
/** The only failure of `text`, checked to be of `kind` and to point at `needle` (its nth occurrence). */
function single(text: string, kind: Failure['kind'], needle: string, nth = 0): Failure {
  const fs = failures(text);
  expect(fs.map((f) => `${f.kind}: ${f.message}`)).toHaveLength(1);
  const f = fs[0]!;
  expect(f.kind).toBe(kind);
  expect(f.span).toMatchObject({ file: FILE, ...posOf(text, needle, nth) });
  return f;
}

describe('yaml-syntax', () => {
  it('reports the line and column of a YAML error', () => {
    const text = 'stages:\n  a:\n    cmd: x\n    cmd: y\n';
    const f = single(text, 'yaml-syntax', 'cmd: y');
    expect(f.message).toContain('pipeline.yaml:4:5');
  });
  it('reports an unclosed flow map', () => {
    const fs = failures('stages:\n  a:\n    cmd: x\n    params: { a: 1, b: 2\n');
    expect(fs[0]!.kind).toBe('yaml-syntax');
    expect(fs[0]!.span?.line).toBeGreaterThanOrEqual(4);
  });
  it('reports a bad merge source instead of throwing', () => {
    const fs = failures('vars:\n  s: &s hello\nstages:\n  a:\n    <<: *s\n    cmd: x\n');
    expect(fs[0]!.kind).toBe('yaml-syntax');
  });
});

describe('schema', () => {
  it('points at an unknown top-level key and suggests the right one', () => {
    const text = 'vars: {}\nstagse:\n  a: { cmd: x }\n';
    const fs = failures(text);
    const f = fs.find((x) => x.message.includes('stagse'))!;
    expect(f.kind).toBe('schema');
    expect(f.message).toContain("Did you mean 'stages'");
    expect(f.span).toMatchObject(posOf(text, 'stagse'));
    // and the missing stages: map is reported too
    expect(fs.some((x) => x.message.includes('stages') && x.message.includes('missing'))).toBe(true);
  });
  it('points at an unknown stage key with a suggestion, and keeps checking other stages', () => {
    const text = 'stages:\n  a:\n    cmd: x\n    dpes: [x]\n  b:\n    cmd: echo ${nope}\n';
    const fs = failures(text);
    expect(fs).toHaveLength(2);
    expect(fs[0]).toMatchObject({ kind: 'schema', stage: 'a', span: posOf(text, 'dpes') });
    expect(fs[0]!.message).toContain("Did you mean 'deps'");
    expect(fs[1]).toMatchObject({ kind: 'undefined-var', span: posOf(text, '${nope}') });
  });
  it('rejects bad stage names at the key', () => {
    const text = 'stages:\n  -bad:\n    cmd: x\n';
    const f = single(text, 'schema', '-bad');
    expect(f.message).toContain("'-bad'");
  });
  it('requires exactly one of uses and cmd', () => {
    const both = 'stages:\n  a:\n    uses: synth\n    cmd: x\n';
    expect(single(both, 'schema', 'cmd').message).toContain('both');
    const neither = 'stages:\n  a:\n    deps: [x]\n';
    expect(single(neither, 'schema', 'a:').message).toContain('neither');
  });
  it('names the expected type of a wrong value', () => {
    const text = 'stages:\n  a:\n    cmd: x\n    resources: { cpu: many }\n';
    const f = single(text, 'schema', 'many');
    expect(f.message).toMatch(/resources\.cpu: expected number or a \$\{var\} reference/);
  });
  it('reports a misspelt key inside an outs entry at that key', () => {
    const text = 'stages:\n  a:\n    cmd: x\n    outs: [{ path: o, cach: false }]\n';
    expect(single(text, 'schema', 'cach').message).toContain("Did you mean 'cache'");
    const cache = 'stages:\n  a:\n    cmd: x\n    outs: [{ path: o, cache: nope }]\n';
    expect(single(cache, 'schema', 'nope').message).toContain("outs.0.cache: expected boolean or a ${var} reference, got 'nope'");
  });
  it('rejects foreach over a var that is not a list, and non-scalar items', () => {
    const text = 'vars:\n  n: 3\nstages:\n  a:\n    foreach: ${n}\n    cmd: x\n';
    expect(single(text, 'schema', '${n}', 0).message).toContain('must be a list');
    const nested = 'stages:\n  a:\n    foreach: [x, [y]]\n    cmd: x\n';
    expect(single(nested, 'schema', '[y]').message).toContain('foreach.1');
    const viaVar = 'vars:\n  l: [a, [b]]\nstages:\n  a:\n    foreach: ${l}\n    cmd: x\n';
    expect(single(viaVar, 'schema', '${l}').message).toContain('item 2');
  });
  it('rejects repeated foreach values and exclude keys that are not axes', () => {
    const dup = 'stages:\n  a:\n    foreach: [x, y, x]\n    cmd: x\n';
    expect(single(dup, 'schema', 'x', 1).message).toContain('a@x');
    const ex = 'stages:\n  a:\n    matrix:\n      p: [1, 2]\n      exclude: [{q: 1}]\n    cmd: x\n';
    expect(single(ex, 'schema', 'q:').message).toContain("'q'");
  });
  it('rejects a var of the wrong type substituted into a typed field', () => {
    const text = 'vars:\n  cores: lots\nstages:\n  a:\n    cmd: x\n    resources:\n      cpu: ${cores}\n';
    const f = single(text, 'schema', '${cores}');
    expect(f.message).toContain('after substituting');
    expect(f.message).toContain("expected number or a ${var} reference, got 'lots'");
  });
});

describe('undefined-var', () => {
  it('points at the exact reference inside a longer string, with a suggestion', () => {
    const text = 'vars:\n  size: 1\nstages:\n  a:\n    cmd: run --size ${size} --n ${sizee} --m ${sizee}\n';
    const fs = failures(text);
    expect(fs).toHaveLength(2);
    expect(fs[0]).toMatchObject({ kind: 'undefined-var', span: { ...posOf(text, '${sizee}', 0), length: 8 } });
    expect(fs[1]).toMatchObject({ kind: 'undefined-var', span: posOf(text, '${sizee}', 1) });
    expect(fs[0]!.message).toContain("Did you mean 'size'");
  });
  it('reports a missing key of a map var, naming the keys it has', () => {
    const text = 'vars:\n  model: { arch: x, width: 2 }\nstages:\n  a:\n    cmd: run\n    params: { d: "${model.depth}" }\n';
    const f = single(text, 'undefined-var', '${model.depth}');
    expect(f.message).toContain('arch, width');
  });
  it('reports a var that refers to itself', () => {
    const text = 'vars:\n  a: ${b}/x\n  b: ${a}/y\nstages:\n  s:\n    cmd: echo ${a}\n';
    const fs = failures(text);
    expect(fs.some((f) => f.kind === 'undefined-var' && f.message.includes('refers to itself'))).toBe(true);
  });
  it('reports each bad reference of a template once, not once per instance', () => {
    const text = 'stages:\n  a:\n    foreach: [x, y, z]\n    cmd: echo ${item} ${oops}\n';
    single(text, 'undefined-var', '${oops}');
  });
  it('does not take ${item} outside foreach', () => {
    single('stages:\n  a:\n    cmd: echo ${item}\n', 'undefined-var', '${item}');
  });
});

describe('unknown-stage-type', () => {
  it('points at the uses value and lists the known stages', () => {
    const text = 'stages:\n  a:\n    uses: synht\n    params: { out: x }\n';
    const f = single(text, 'unknown-stage-type', 'synht');
    expect(f.message).toContain("Did you mean 'synth'");
    expect(f.hint).toContain('convert, escaper, synth, train');
  });
});

describe('bad-params', () => {
  it('points at a param of the wrong type and names it', () => {
    const text = 'stages:\n  s:\n    uses: synth\n    params:\n      out: data/s\n      size: -3\n';
    const f = single(text, 'bad-params', '-3');
    expect(f.message).toContain("param 'size'");
  });
  it('points at params: when a required param is missing', () => {
    const text = 'stages:\n  s:\n    uses: synth\n    params:\n      size: 3\n';
    const f = single(text, 'bad-params', 'params');
    expect(f.message).toContain("param 'out': missing");
  });
  it('points at the stage when params: itself is missing', () => {
    const text = 'stages:\n  s:\n    uses: synth\n';
    expect(single(text, 'bad-params', 's:\n    uses').message).toContain("'out'");
  });
  it('reports unknown params with a suggestion, for strict and stripping schemas alike', () => {
    const strict = 'stages:\n  s:\n    uses: synth\n    params: { out: x, sise: 3 }\n';
    expect(single(strict, 'bad-params', 'sise').message).toContain("Did you mean 'size'");
    const strip = 'stages:\n  c:\n    uses: convert\n    params: { masks: m, out: o, glb: "*.jpg" }\n';
    expect(single(strip, 'bad-params', 'glb').message).toContain("Did you mean 'glob'");
  });
  it('reports unknown keys inside nested params', () => {
    const text = 'stages:\n  t:\n    uses: nested\n    params:\n      opt: { lr: 1, momentm: 0.9 }\n';
    const r = parsePipelineText(text, FILE, fakeBuiltins(nested));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toHaveLength(1);
    expect(r.error[0]).toMatchObject({ kind: 'bad-params', span: posOf(text, 'momentm') });
    expect(r.error[0]!.message).toContain("'opt.momentm'");
  });
  it('checks params after substitution, per instance', () => {
    const text = 'vars:\n  sizes: [8, big]\nstages:\n  s:\n    foreach: ${sizes}\n    uses: synth\n    params: { out: "o/${item}", size: "${item}" }\n';
    const f = single(text, 'bad-params', '"${item}"');
    expect(f.stage).toBe('s@big');
  });
});

describe('path-outside-repo', () => {
  it('rejects absolute paths and paths escaping the repo, at their position', () => {
    const text = 'stages:\n  a:\n    cmd: x\n    deps: [/etc/passwd, ok/../../up]\n    outs: [fine/../x]\n    map: { in: ../in, out: o }\n';
    const fs = failures(text);
    expect(fs.map((f) => f.kind)).toEqual(['path-outside-repo', 'path-outside-repo', 'path-outside-repo']);
    expect(fs[0]!.span).toMatchObject(posOf(text, '/etc/passwd'));
    expect(fs[0]!.message).toContain('absolute');
    expect(fs[1]!.span).toMatchObject(posOf(text, 'ok/../../up'));
    expect(fs[2]!.span).toMatchObject(posOf(text, '../in'));
  });
  it('checks paths a built-in derives from its params too', () => {
    const text = 'stages:\n  e:\n    uses: escaper\n';
    const f = single(text, 'path-outside-repo', 'e:');
    expect(f.message).toContain('../elsewhere');
  });
  it('rejects the repo root as an output', () => {
    single('stages:\n  a:\n    cmd: x\n    outs: [./]\n', 'schema', './');
  });
});

describe('collecting', () => {
  it('reports independent problems of several stages together', () => {
    const text = `stages:
  a:
    uses: nope
  b:
    uses: synth
    params: { out: 5 }
  c:
    cmd: echo \${x}
  d:
    cmd: y
    outs: [/abs]
`;
    expect(failures(text).map((f) => f.kind)).toEqual(['unknown-stage-type', 'bad-params', 'undefined-var', 'path-outside-repo']);
  });
});
