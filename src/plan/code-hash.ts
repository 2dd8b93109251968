/**
 * The "code" part of a stage key: for a built-in stage the hash of its source
 * files; for a `cmd:` stage the scripts its command names that live in the repo
 * (so editing `scripts/train.py` reruns the stage even when it is not a dep).
 */
import path from 'node:path';
import { statSync } from 'node:fs';
import type { StageInstance } from '../model.ts';
import type { BuiltinStage } from '../stages/registry.ts';
import { readStageSources } from '../stages/registry.ts';
import { hashBytes, hashRecord, type Digest } from '../hash/digest.ts';
import { hashPath } from '../hash/tree.ts';
import type { StatCache } from '../hash/stat-cache.ts';

export interface CodeHash {
  hash: Digest;
  /** What it covers, for "code changed" reasons: source files or scripts. */
  files: Record<string, Digest>;
}

const builtinCodeHashes = new Map<string, Promise<CodeHash>>();

async function builtinCodeHash(name: string, b: BuiltinStage): Promise<CodeHash> {
  let p = builtinCodeHashes.get(name);
  if (!p) {
    p = readStageSources(b).then((sources) => {
      const files: Record<string, Digest> = {};
      for (const s of sources) files[s.file] = hashBytes(s.text);
      return { hash: hashRecord({ builtin: name, files }), files };
    });
    builtinCodeHashes.set(name, p);
  }
  return p;
}

/** Words of a shell command that name files inside the repo (scripts it runs). */
export function scriptsInCommand(cmd: string, root: string, wdir: string, exclude: Set<string>): string[] {
  const found = new Set<string>();
  for (const raw of cmd.split(/[\s;|&()<>]+/)) {
    const word = raw.replace(/^['"]|['"]$/g, '');
    if (!word || word.startsWith('-') || word.includes('{') || word.includes('$')) continue;
    if (!/\.(py|sh|js|mjs|ts|r|R|jl|m|lua|pl|rb)$/.test(word)) continue;
    const abs = path.resolve(root, wdir, word);
    const rel = path.relative(root, abs).split(path.sep).join('/');
    if (rel.startsWith('..') || path.isAbsolute(rel) || exclude.has(rel)) continue;
    try {
      if (statSync(abs).isFile()) found.add(rel);
    } catch {
      // Not a file in the repo: an argument, not a script.
    }
  }
  return [...found].sort();
}

export async function codeHashFor(
  stage: StageInstance,
  builtins: Map<string, BuiltinStage>,
  root: string,
  statCache: StatCache,
): Promise<CodeHash> {
  if (stage.kind === 'uses') {
    const b = builtins.get(stage.uses ?? '');
    if (!b) throw new Error(`builtin ${stage.uses} vanished after validation`);
    return builtinCodeHash(stage.uses!, b);
  }
  const files: Record<string, Digest> = {};
  for (const rel of scriptsInCommand(stage.cmd ?? '', root, stage.wdir, new Set(stage.deps))) {
    const h = await hashPath(path.join(root, rel), { statCache });
    if (h) files[rel] = h.hash;
  }
  return { hash: hashRecord({ cmd: stage.cmd ?? '', files }), files };
}
