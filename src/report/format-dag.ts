/**
 * The stage graph for `pipe dag`: a layered list for terminals, Mermaid for
 * Markdown/GitHub, DOT for Graphviz. Stage names carry `@` and `-`
 * (`evaluate@bright-dark`), so every format escapes or quotes them.
 */
import { unreachable } from '../util/result.ts';
import { formatTable } from './format-table.ts';

export interface DagView {
  nodes: { name: string; state?: string }[];
  /** `from` is the stage `to` depends on (data flows from -> to). */
  edges: [from: string, to: string][];
}

/** Renders the graph; output ends without a trailing newline. */
export function formatDag(d: DagView, format: 'text' | 'mermaid' | 'dot'): string {
  switch (format) {
    case 'text':
      return dagText(d);
    case 'mermaid':
      return dagMermaid(d);
    case 'dot':
      return dagDot(d);
    default:
      return unreachable(format, 'dag format');
  }
}

/** Node list in the given order plus any names only edges mention, with states. */
function allNodes(d: DagView): Map<string, string | undefined> {
  const m = new Map<string, string | undefined>();
  for (const n of d.nodes) m.set(n.name, n.state);
  for (const [a, b] of d.edges) {
    if (!m.has(a)) m.set(a, undefined);
    if (!m.has(b)) m.set(b, undefined);
  }
  return m;
}

/**
 * Layer = length of the longest path from a root, so every stage is listed
 * below everything it needs. Nodes on a cycle (the graph builder rejects
 * those, but this is only a printer) go to a last "cycle" layer.
 */
export function dagLayers(d: DagView): { layers: string[][]; cyclic: string[] } {
  const nodes = [...allNodes(d).keys()];
  const succs = new Map<string, string[]>(nodes.map((n) => [n, []]));
  const indegree = new Map<string, number>(nodes.map((n) => [n, 0]));
  for (const [a, b] of d.edges) {
    succs.get(a)?.push(b);
    indegree.set(b, (indegree.get(b) ?? 0) + 1);
  }
  // Kahn's algorithm; a node's layer is one more than its deepest predecessor's.
  const layer = new Map<string, number>();
  const queue = nodes.filter((n) => indegree.get(n) === 0);
  for (const n of queue) layer.set(n, 0);
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i] as string;
    for (const s of succs.get(n) ?? []) {
      layer.set(s, Math.max(layer.get(s) ?? 0, (layer.get(n) ?? 0) + 1));
      const left = (indegree.get(s) ?? 0) - 1;
      indegree.set(s, left);
      if (left === 0) queue.push(s);
    }
  }
  const placed = new Set(queue);
  const layers: string[][] = [];
  for (const n of nodes) {
    const l = layer.get(n);
    if (placed.has(n) && l !== undefined) (layers[l] ??= []).push(n);
  }
  return { layers: layers.filter((l) => l !== undefined), cyclic: nodes.filter((n) => !placed.has(n)) };
}

function dagText(d: DagView): string {
  const states = allNodes(d);
  if (states.size === 0) return '(no stages)';
  const preds = new Map<string, string[]>();
  for (const [a, b] of d.edges) preds.set(b, [...(preds.get(b) ?? []), a]);
  const { layers, cyclic } = dagLayers(d);
  const rows: string[][] = [];
  const groups: [string, string[]][] = layers.map((l, i) => [String(i + 1), l]);
  if (cyclic.length > 0) groups.push(['cycle', cyclic]);
  for (const [label, names] of groups) {
    names.forEach((n, i) => {
      const ps = preds.get(n) ?? [];
      rows.push([i === 0 ? label : '', n, states.get(n) ?? '', ps.length ? '<- ' + ps.join(', ') : '']);
    });
  }
  const hasState = [...states.values()].some((s) => s !== undefined);
  const table = hasState ? rows : rows.map((r) => [r[0] ?? '', r[1] ?? '', r[3] ?? '']);
  return formatTable(hasState ? ['step', 'stage', 'state', 'needs'] : ['step', 'stage', 'needs'], table, {
    align: ['right'],
  });
}

/** Ids safe for Mermaid: letters, digits, underscore, prefixed so `end` and leading digits can't clash. */
function mermaidIds(names: string[]): Map<string, string> {
  const ids = new Map<string, string>();
  const used = new Set<string>();
  for (const n of names) {
    const base = 's_' + n.replace(/[^A-Za-z0-9_]/g, '_');
    let id = base;
    for (let k = 2; used.has(id); k++) id = `${base}_${k}`;
    used.add(id);
    ids.set(n, id);
  }
  return ids;
}

/** Mermaid labels sit in double quotes; quotes and angle brackets become entities. */
function mermaidLabel(s: string): string {
  return s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

function stateClass(state: string): string {
  return 'st_' + state.replace(/[^A-Za-z0-9_]/g, '_');
}

/** Fill colours for the states reporters use; unknown states get no style. */
const STATE_FILL: Record<string, string> = {
  'up-to-date': 'fill:#e6f4ea,stroke:#2e7d32',
  done: 'fill:#e6f4ea,stroke:#2e7d32',
  restored: 'fill:#e3f2fd,stroke:#1565c0',
  running: 'fill:#fff8e1,stroke:#f9a825',
  stale: 'fill:#fff8e1,stroke:#f9a825',
  'never-run': 'fill:#fff8e1,stroke:#f9a825',
  failed: 'fill:#fdecea,stroke:#c62828',
  'not-run': 'fill:#eeeeee,stroke:#9e9e9e',
};

function dagMermaid(d: DagView): string {
  const states = allNodes(d);
  const ids = mermaidIds([...states.keys()]);
  const out = ['flowchart TD'];
  for (const [n, state] of states) {
    const label = state ? `${n} (${state})` : n;
    out.push(`  ${ids.get(n)}["${mermaidLabel(label)}"]`);
  }
  for (const [a, b] of d.edges) out.push(`  ${ids.get(a)} --> ${ids.get(b)}`);
  const byState = new Map<string, string[]>();
  for (const [n, state] of states) if (state) byState.set(state, [...(byState.get(state) ?? []), ids.get(n) ?? '']);
  for (const [state, members] of byState) {
    const fill = STATE_FILL[state];
    if (!fill) continue;
    out.push(`  classDef ${stateClass(state)} ${fill}`);
    out.push(`  class ${members.join(',')} ${stateClass(state)}`);
  }
  return out.join('\n');
}

/** A DOT double-quoted string: only `"` and `\` need escaping; newlines become \n. */
function dotQuote(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}

function dagDot(d: DagView): string {
  const states = allNodes(d);
  const out = ['digraph pipe {', '  rankdir=TB;', '  node [shape=box, style="rounded,filled", fillcolor="#ffffff"];'];
  for (const [n, state] of states) {
    const attrs = [`label=${dotQuote(state ? `${n}\n(${state})` : n)}`];
    const fill = state ? STATE_FILL[state]?.match(/fill:(#[0-9a-f]{6})/)?.[1] : undefined;
    if (fill) attrs.push(`fillcolor=${dotQuote(fill)}`);
    out.push(`  ${dotQuote(n)} [${attrs.join(', ')}];`);
  }
  for (const [a, b] of d.edges) out.push(`  ${dotQuote(a)} -> ${dotQuote(b)};`);
  out.push('}');
  return out.join('\n');
}
