// A trivial per-item stage for benchmarks (loaded through PIPE_STAGES_PATH):
// copies each input, so what is measured is the engine, not the stage. Plain
// JavaScript, so loading it needs no TypeScript loader in the measured process.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const Params = z.object({ in: z.string(), out: z.string(), workMs: z.number().min(0).default(0) }).strict();

export default {
  kind: 'per-item',
  name: 'bench-copy',
  description: 'copies each file (benchmark stage)',
  params: Params,
  io: (p) => ({ deps: [], outs: [p.out], metrics: [], map: { in: p.in, out: p.out } }),
  async processItem(ctx) {
    // Simulated per-image work, so a full run costs what a real image stage would.
    if (ctx.params.workMs) {
      const end = Date.now() + ctx.params.workMs;
      while (Date.now() < end);
    }
    const dest = path.join(ctx.outDir, ctx.rel);
    await mkdir(path.dirname(dest), { recursive: true });
    await copyFile(ctx.input, dest);
    return { summary: null };
  },
};
