/** `pipe dag [--mermaid|--dot]`: the stage graph as text, Mermaid or Graphviz. */
import type { CliIO } from '../io.ts';
import { EXIT, writeAligned } from '../io.ts';
import { formatDag } from '../../report/format-dag.ts';
import { sessionOrReport } from '../session.ts';

export async function dagCommand(io: CliIO, f: { file?: string; format: 'text' | 'mermaid' | 'dot' }): Promise<number> {
  const s = await sessionOrReport(io, f.file);
  if (!s) return EXIT.usage;
  const g = s.graph;
  const edges: [string, string][] = [];
  for (const name of g.order) for (const up of g.upstream.get(name) ?? []) edges.push([up, name]);
  await writeAligned(io, g.order, () => formatDag({ nodes: g.order.map((name) => ({ name })), edges }, f.format));
  return EXIT.ok;
}
