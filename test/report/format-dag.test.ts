import { describe, expect, it } from 'vitest';
import { dagLayers, formatDag, type DagView } from '../../src/report/format-dag.ts';

const dag: DagView = {
  nodes: [
    { name: 'synth', state: 'up-to-date' },
    { name: 'train@dark', state: 'running' },
    { name: 'train@bright', state: 'failed' },
    { name: 'evaluate@bright-dark' },
  ],
  edges: [
    ['synth', 'train@dark'],
    ['synth', 'train@bright'],
    ['train@dark', 'evaluate@bright-dark'],
    ['train@bright', 'evaluate@bright-dark'],
  ],
};

/**
 * A small DOT reader for what formatDag writes: statements separated by `;`,
 * ids as double-quoted strings with \" and \\ escapes. Returns node ids and edges.
 */
function readDot(text: string): { nodes: Set<string>; edges: [string, string][] } {
  const body = text.match(/^digraph\s+\w+\s*\{([\s\S]*)\}\s*$/);
  if (!body) throw new Error('not a digraph');
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|->|[\[\],;=]|[A-Za-z_][\w.]*|#[0-9a-f]+)/gy;
  const src = (body[1] ?? '').trim();
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(src))) {
    tokens.push(m[1] ?? '');
    consumed = re.lastIndex;
  }
  if (src.slice(consumed).trim() !== '') throw new Error(`cannot tokenise: ${src.slice(consumed, consumed + 20)}`);
  const unq = (t: string) => (t.startsWith('"') ? JSON.parse(t) : t);
  const nodes = new Set<string>();
  const edges: [string, string][] = [];
  let stmt: string[] = [];
  for (const t of tokens) {
    if (t !== ';') {
      stmt.push(t);
      continue;
    }
    if (stmt[1] === '->') edges.push([unq(stmt[0] ?? ''), unq(stmt[2] ?? '')]);
    else if (stmt[0]?.startsWith('"')) nodes.add(unq(stmt[0]));
    // Brackets must balance within a statement.
    expect(stmt.filter((x) => x === '[').length).toBe(stmt.filter((x) => x === ']').length);
    stmt = [];
  }
  expect(stmt).toEqual([]);
  return { nodes, edges };
}

describe('formatDag', () => {
  it('text: layers in dependency order, with states and what each needs', () => {
    const lines = formatDag(dag, 'text').split('\n');
    expect(lines[0]).toMatch(/^step\s+stage\s+state\s+needs$/);
    expect(lines[1]).toMatch(/^\s*1\s+synth\s+up-to-date$/);
    expect(lines[2]).toMatch(/^\s*2\s+train@dark\s+running\s+<- synth$/);
    expect(lines[3]).toMatch(/^\s+train@bright\s+failed\s+<- synth$/);
    expect(lines[4]).toMatch(/^\s*3\s+evaluate@bright-dark\s+<- train@dark, train@bright$/);
  });

  it('text: layer is the longest path, and a cycle is listed, not looped on', () => {
    const d: DagView = { nodes: [{ name: 'a' }, { name: 'b' }, { name: 'c' }], edges: [['a', 'b'], ['b', 'c'], ['a', 'c']] };
    expect(dagLayers(d).layers).toEqual([['a'], ['b'], ['c']]);
    const cyc = dagLayers({ nodes: [{ name: 'x' }, { name: 'y' }, { name: 'z' }], edges: [['x', 'y'], ['y', 'z'], ['z', 'y']] });
    expect(cyc).toEqual({ layers: [['x']], cyclic: ['y', 'z'] });
    expect(formatDag({ nodes: [], edges: [] }, 'text')).toBe('(no stages)');
  });

  it('mermaid: flowchart TD with safe, unique ids and the real names as labels', () => {
    const out = formatDag(dag, 'mermaid');
    const lines = out.split('\n');
    expect(lines[0]).toBe('flowchart TD');
    const nodeDefs = lines.filter((l) => /^\s+\S+\[".*"\]$/.test(l));
    expect(nodeDefs).toHaveLength(4);
    const ids = new Map<string, string>();
    for (const l of nodeDefs) {
      const m = l.trim().match(/^([A-Za-z0-9_]+)\["([^"]*)"\]$/);
      expect(m, l).not.toBeNull();
      ids.set((m?.[2] ?? '').replace(/ \(.*\)$/, ''), m?.[1] ?? '');
    }
    expect(new Set(ids.values()).size).toBe(4);
    expect(ids.get('evaluate@bright-dark')).toMatch(/^[A-Za-z][A-Za-z0-9_]*$/);
    const edges = lines.filter((l) => l.includes('-->')).map((l) => l.trim());
    expect(edges).toContain(`${ids.get('train@dark')} --> ${ids.get('evaluate@bright-dark')}`);
    expect(edges).toHaveLength(4);
    expect(out).toMatch(/classDef st_failed /);
    expect(out).toContain(`class ${ids.get('train@bright')} st_failed`);
  });

  it('mermaid: names that sanitise alike still get distinct ids; quotes are escaped', () => {
    const out = formatDag({ nodes: [{ name: 'a-b' }, { name: 'a@b' }, { name: 'say "hi"' }], edges: [] }, 'mermaid');
    expect(out).toContain('s_a_b["a-b"]');
    expect(out).toContain('s_a_b_2["a@b"]');
    expect(out).toContain('["say #quot;hi#quot;"]');
  });

  it('dot: a digraph with every id quoted, parseable back to the same graph', () => {
    const out = formatDag(dag, 'dot');
    const g = readDot(out);
    expect(g.nodes).toEqual(new Set(['synth', 'train@dark', 'train@bright', 'evaluate@bright-dark']));
    expect(g.edges).toEqual(dag.edges);
    expect(out).toContain('"evaluate@bright-dark" [label="evaluate@bright-dark"]');
    const tricky = readDot(formatDag({ nodes: [{ name: 'q"uote\\d' }], edges: [['q"uote\\d', 'n']] }, 'dot'));
    expect([...tricky.nodes]).toEqual(['q"uote\\d', 'n']);
  });
});
