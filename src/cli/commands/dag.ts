/** `pipe dag [--mermaid|--dot]`: the stage graph as text, Mermaid or Graphviz. */
import type { CliIO } from '../io.ts';
import { EXIT } from '../io.ts';
import { printFailures } from '../errors.ts';
import { openSession } from '../../run/session.ts';
import { formatDag } from '../../report/format-dag.ts';

export async function dagCommand(io: CliIO, f: { file?: string; format: 'text' | 'mermaid' | 'dot' }): Promise<number> {
  const session = await openSession({ cwd: io.cwd, ...(f.file ? { file: f.file } : {}) });
  if (!session.ok) {
    printFailures(io, session.error);
    return EXIT.usage;
  }
  const g = session.value.graph;
  const edges: [string, string][] = [];
  for (const name of g.order) for (const up of g.upstream.get(name) ?? []) edges.push([up, name]);
  io.stdout.write(formatDag({ nodes: g.order.map((name) => ({ name })), edges }, f.format) + '\n');
  return EXIT.ok;
}
