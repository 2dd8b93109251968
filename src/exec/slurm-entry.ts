/**
 * Entry point of a Slurm job on its compute node: `node slurm-entry.js <request.json>`.
 * Runs a built-in whole stage the way a local child process does (the same
 * `runStageInProcess` and stage context), or one chunk of a per-item stage
 * (the array task SLURM_ARRAY_TASK_ID), storing each finished item in the
 * shared cache. Talks to the runner only through files in the job folder:
 * progress and log lines on stdout (the job log the runner tails), the
 * result in result.json / chunk-<i>.jsonl. Never imported by the engine.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { failure, toFailure, type Failure } from '../failure.ts';
import type { PerItemStage, Stage } from '../stage-api.ts';
import { err, type Result } from '../util/result.ts';
import { CacheStore } from '../cache/store.ts';
import { StatCache } from '../hash/stat-cache.ts';
import { parseGpuList } from './gpus.ts';
import { runStageInProcess } from './in-process.ts';
import { runItem } from './item-run.ts';
import { recordItem } from './record-item.ts';
import { runShell } from './shell.ts';
import { itemOutPath } from './shell-items.ts';
import { JOB_MARK, writeJsonAtomic, type ChunkLine, type SlurmRequest } from './slurm-protocol.ts';

function say(m: object): void {
  process.stdout.write(`${JOB_MARK}${JSON.stringify(m)}\n`);
}

/** SIGTERM (scancel, or --time reached) aborts the stage; Slurm's SIGKILL follows after KillWait. */
function abortOnTerm(): AbortSignal {
  const ac = new AbortController();
  process.once('SIGTERM', () => ac.abort());
  return ac.signal;
}

async function load<K extends Stage['kind']>(modulePath: string, kind: K, stageName: string): Promise<Extract<Stage, { kind: K }> | Failure> {
  try {
    const stage = ((await import(pathToFileURL(modulePath).href)) as { default?: Stage }).default;
    if (stage?.kind === kind) return stage as Extract<Stage, { kind: K }>;
    return failure('internal', `stage ${stageName}: ${modulePath} must export a default ${kind} stage`, { stage: stageName, file: modulePath });
  } catch (e) {
    return failure('stage-error', `stage ${stageName}: cannot load ${modulePath}: ${(e as Error).message}`, { stage: stageName, file: modulePath });
  }
}

async function wholeStage(req: Extract<SlurmRequest, { kind: 'stage' }>): Promise<Result<void, Failure>> {
  const stage = await load(req.modulePath, 'whole', req.init.stage);
  if ('message' in stage) return err(stage);
  // The node's allocation, not the runner's: Slurm sets CUDA_VISIBLE_DEVICES for --gpus.
  const init = {
    ...req.init,
    gpus: parseGpuList(process.env.CUDA_VISIBLE_DEVICES ?? ''),
    threads: Number(process.env.SLURM_CPUS_PER_TASK) || req.init.threads,
  };
  return runStageInProcess(stage, init, {
    signal: abortOnTerm(),
    onProgress: (progress) => say({ progress }),
    onLog: (line) => say({ log: line }),
  });
}

async function itemChunk(req: Extract<SlurmRequest, { kind: 'items' }>, resultFile: string): Promise<void> {
  const index = Number(process.env.SLURM_ARRAY_TASK_ID ?? '0');
  const chunk = req.chunks[index] ?? [];
  const store = new CacheStore(req.cacheDir);
  const stat = await StatCache.load(path.join(req.jobDir, 'no-stat-cache.json'));
  const signal = abortOnTerm();
  const stage = req.modulePath ? await load(req.modulePath, 'per-item', req.stage) : undefined;
  const put = (l: ChunkLine) => appendFileSync(resultFile, JSON.stringify(l) + '\n');
  for (const it of chunk) {
    if (signal.aborted) break;
    if (stage && 'message' in stage) {
      put({ key: it.key, ok: false, failure: stage });
      continue;
    }
    let r: Result<{ summary?: unknown }, Failure>;
    // What an earlier, interrupted attempt at this item left is not its output.
    await rm(it.outDir, { recursive: true, force: true });
    if (stage) {
      await mkdir(it.outDir, { recursive: true });
      r = await runItem(stage as PerItemStage, { stage: req.stage, params: req.params, root: req.root, input: it.input, rel: it.rel, outDir: it.outDir }, (line) => console.log(`${it.rel}: ${line}`));
    } else {
      await mkdir(path.dirname(itemOutPath(it.outDir, it.rel)), { recursive: true });
      const sh = await runShell({ cmd: it.cmd!, cwd: req.cwd, env: {}, signal, onLine: (_s, line) => console.log(`${it.rel}: ${line}`) });
      r = sh.ok ? { ok: true, value: {} } : sh;
    }
    if (signal.aborted) break;
    if (!r.ok) {
      put({ key: it.key, ok: false, failure: { ...r.error, file: r.error.file ?? it.input } });
      continue;
    }
    try {
      await recordItem(store, it.key, it.outDir, r.value as never, stat);
      await rm(it.outDir, { recursive: true, force: true });
      put({ key: it.key, ok: true });
    } catch (e) {
      put({ key: it.key, ok: false, failure: toFailure(e, req.stage) });
    }
  }
}

async function main(): Promise<number> {
  const reqFile = process.argv[2]!;
  const req = JSON.parse(readFileSync(reqFile, 'utf8')) as SlurmRequest;
  if (req.kind === 'items') {
    const index = process.env.SLURM_ARRAY_TASK_ID ?? '0';
    await itemChunk(req, path.join(req.jobDir, `chunk-${index}.jsonl`));
    return 0;
  }
  let result: Result<void, Failure>;
  try {
    result = await wholeStage(req);
  } catch (e) {
    result = err(toFailure(e, req.init.stage));
  }
  writeJsonAtomic(path.join(path.dirname(reqFile), 'result.json'), result);
  return result.ok ? 0 : 1;
}

// Exit explicitly: stage libraries (tfjs thread pools, open handles) may keep the loop alive.
void main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
