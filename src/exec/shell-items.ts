/**
 * `cmd:` map stages on this machine: one shell command per item, as many at
 * once as the stage's CPU grant.
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { inLanes } from './lanes.ts';
import { ok } from '../util/result.ts';
import type { ItemExecutor } from './executor.ts';
import { runShell } from './shell.ts';

/** Fills `{in}`, `{out}`, `{outdir}`, `{stem}`, `{name}`, `{rel}` in a per-item command. */
export function itemCommand(cmd: string, v: { input: string; out: string; outdir: string; rel: string }): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const name = path.posix.basename(v.rel);
  const stem = name.replace(/\.[^.]*$/, '');
  return cmd.replace(/\{(in|out|outdir|stem|name|rel)\}/g, (_, k: string) =>
    q(({ in: v.input, out: v.out, outdir: v.outdir, stem, name, rel: v.rel } as Record<string, string>)[k]!),
  );
}

/** Where a per-item command's `{out}` points: the input's relative path inside the item's folder. */
export function itemOutPath(outDir: string, rel: string): string {
  return path.join(outDir, ...rel.split('/'));
}

export const shellItemsExecutor: ItemExecutor = {
  name: 'shell per item',
  open(spec) {
    return {
      run: async (items, signal, onItem) => {
        await inLanes(items, spec.grant.cpu, signal, async (it) => {
          await mkdir(path.dirname(itemOutPath(it.outDir, it.rel)), { recursive: true });
          const r = await runShell({
            cmd: it.cmd!,
            cwd: spec.cwd,
            env: spec.env,
            signal,
            onLine: (stream, line) => spec.log(it.rel, stream, line),
          });
          if (signal.aborted && !r.ok) return;
          await onItem(it, r.ok ? ok({ kind: 'output', result: {} }) : r);
        });
      },
      close: async () => {},
    };
  },
};
