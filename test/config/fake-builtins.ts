/**
 * Fake built-in stages for config tests: real `defineStage` objects with zod
 * params schemas and io(), so tests do not depend on the real stages/.
 */
import { z } from 'zod';
import type { BuiltinLookup } from '../../src/config/load.ts';
import { defineStage, type Stage } from '../../src/stage-api.ts';

export const synth = defineStage({
  kind: 'whole',
  name: 'synth',
  description: 'Makes synthetic images',
  params: z.strictObject({
    out: z.string(),
    size: z.number().int().positive().default(64),
    sets: z.array(z.string()).default(['bright', 'dark']),
  }),
  io: (p) => ({ deps: [], outs: p.sets.map((s) => `${p.out}/${s}`), metrics: [] }),
  run: async () => {},
});

export const convert = defineStage({
  kind: 'per-item',
  name: 'convert',
  description: 'Colour masks to label images',
  params: z.object({ masks: z.string(), out: z.string(), glob: z.string().default('*.png') }),
  io: (p) => ({ deps: [], outs: [], metrics: [], map: { in: p.masks, out: p.out, glob: p.glob } }),
  processItem: async () => ({}),
});

export const train = defineStage({
  kind: 'whole',
  name: 'train',
  description: 'Trains a model',
  params: z.strictObject({ labels: z.string(), model: z.string(), steps: z.number().int().default(100), gpu: z.boolean().default(false) }),
  io: (p) => ({ deps: [p.labels], outs: [p.model], metrics: [`${p.model}/metrics.json`] }),
  resources: (p) => ({ gpu: p.gpu ? 1 : 0, cpu: 2 }),
  run: async () => {},
});

/** A stage whose io() returns a path outside the repo, to test that derived paths are checked too. */
export const escaper = defineStage({
  kind: 'whole',
  name: 'escaper',
  description: 'Writes outside the repo',
  params: z.object({ out: z.string().default('../elsewhere') }),
  io: (p) => ({ deps: [], outs: [p.out], metrics: [] }),
  run: async () => {},
});

/** Nested strict params, as real stages use for option groups. */
export const nested = defineStage({
  kind: 'whole',
  name: 'nested',
  description: 'Nested params',
  params: z.strictObject({ opt: z.strictObject({ lr: z.number(), momentum: z.number().default(0.9) }) }),
  io: () => ({ deps: [], outs: ['n'], metrics: [] }),
  run: async () => {},
});

export function fakeBuiltins(...stages: Stage[]): BuiltinLookup {
  const all = stages.length ? stages : [synth, convert, train, escaper];
  const map = new Map(all.map((s) => [s.name, s]));
  return { get: (n) => map.get(n), names: () => [...map.keys()].sort() };
}

/** 1-based line and column of the `nth` (0-based) occurrence of `needle` in `text`, computed independently of yaml. */
export function posOf(text: string, needle: string, nth = 0): { line: number; col: number } {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    if (at === -1) throw new Error(`test bug: '${needle}' #${nth} not in text`);
  }
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  return { line, col: at - before.lastIndexOf('\n') };
}

export const FILE = '/repo/pipeline.yaml';
