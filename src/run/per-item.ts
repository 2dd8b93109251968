/**
 * Per-item stages: every file of `map.in` is one item, cached on its own by
 * (stage code, params, item path, item content). Changing one image out of
 * 10,000 processes one image; the others are copied from the cache. The
 * engine owns this cache; stages only see one item at a time.
 */
import path from 'node:path';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import picomatch from 'picomatch';
import type { Failure } from '../failure.ts';
import { toFailure } from '../failure.ts';
import type { Result } from '../util/result.ts';
import { err, ok } from '../util/result.ts';
import { Slicer } from '../util/slicer.ts';
import type { Json, ItemResult, PerItemStage } from '../stage-api.ts';
import type { Session } from './session.ts';
import type { StageAssessment } from '../plan/assess.ts';
import type { ManifestEntry } from '../hash/tree.ts';
import { StatCache } from '../hash/stat-cache.ts';
import { ItemIndex } from './item-index.ts';
import { itemKeyer } from '../plan/fingerprint.ts';
import type { StageInit } from '../exec/stage-init.ts';
import { makeStageContext } from '../exec/stage-init.ts';
import { stageEnv, type Grant, type ItemDone, type ItemExecutor, type ItemRun, type ItemTask } from '../exec/executor.ts';
import { itemCommand, itemOutPath } from '../exec/shell-items.ts';
import { recordItem } from '../exec/record-item.ts';
import type { ExecEnv } from './exec-env.ts';
import { OutOverlay } from './out-overlay.ts';
import type { FolderRecord } from '../hash/folder-records.ts';

/** An item to process. Cached items are not kept as objects: at 100,000 items, every field held per item shows in peak memory. */
interface Item {
  rel: string;
  input: string;
  key: string;
  /** Its place in the list of summaries handed to reduce. */
  at: number;
}

/** The items of a stage, in order: files of map.in (already hashed as a dep) matching the glob. */
function* listItems(a: StageAssessment, root: string): Generator<{ rel: string; hash: string; input: () => string }> {
  const map = a.stage.map!;
  const h = a.deps[map.in];
  if (!h) return;
  if (h.kind === 'file') {
    yield { rel: path.posix.basename(map.in), hash: h.hash, input: () => path.join(root, map.in) };
    return;
  }
  const match = picomatch(map.glob || '**', { dot: false });
  for (const m of h.manifest) if (match(m.path)) yield { rel: m.path, hash: m.hash, input: () => path.join(root, map.in, ...m.path.split('/')) };
}

/**
 * The record of the output folder as it was hashed for this run's plan, or
 * undefined when it is missing or that record is not at hand (then nothing
 * of it is kept: every item is placed in the temp folder, swapped in whole).
 */
function currentRecord(s: Session, a: StageAssessment, rel: string): FolderRecord | undefined {
  const h = a.outs[rel];
  if (!h || h.kind !== 'dir') return undefined;
  const r = s.records.get(path.join(s.root, rel));
  return r && r.hash === h.hash ? r : undefined;
}

function twoWriters(file: string, item: string): Failure {
  return { kind: 'stage-error', message: `two items wrote the same output ${file} (the second was ${item})`, hint: 'each item must write outputs named after its own input' };
}

/** Moves every file under `from` to the same relative path under `to`; refuses to overwrite. */
async function moveTree(from: string, to: string, item: string): Promise<Result<void, Failure>> {
  for (const e of await readdir(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dest = path.join(to, e.name);
    if (e.isDirectory()) {
      await mkdir(dest, { recursive: true });
      const r = await moveTree(src, dest, item);
      if (!r.ok) return r;
      continue;
    }
    try {
      await stat(dest);
      return err(twoWriters(e.name, item));
    } catch {
      await rename(src, dest);
    }
  }
  return ok(undefined);
}

/** Copies a cached item's files from the cache into the temp output, verified. */
async function placeCachedItem(s: Session, files: ManifestEntry[], tempOut: string, tempStat: StatCache): Promise<boolean> {
  if (files.length === 0) return true;
  if (!(await s.store.materializeItemFiles(files, tempOut)).ok) return false;
  await seedStat(tempStat, tempOut, files);
  return true;
}

/** Records known hashes of files just placed in the temp output, so committing it reads nothing again. */
async function seedStat(tempStat: StatCache, dir: string, files: ManifestEntry[]): Promise<void> {
  for (const f of files) {
    const abs = path.join(dir, ...f.path.split('/'));
    tempStat.set(abs, await stat(abs), f.hash);
  }
}

export async function runPerItem(
  s: Session,
  a: StageAssessment,
  grant: Grant,
  env: ExecEnv,
  o: PerItemOptions,
): Promise<Result<void, Failure>> {
  const stage = a.stage;
  const map = stage.map!;
  const mapOut = o.redirects.find((r) => r.rel === map.out);
  if (!mapOut) throw new Error(`map.out ${map.out} is not an out of ${stage.name}`);
  await mkdir(mapOut.abs, { recursive: true });

  // Opened before the cached items are placed: an executor may warm up
  // (start a worker) meanwhile.
  const runner = o.executor.open({
    stage: stage.name,
    key: a.key,
    work: stage.kind === 'uses' ? { kind: 'stage', modulePath: s.builtins.get(stage.uses!)!.modulePath, params: stage.params } : { kind: 'cmd' },
    root: s.root,
    cwd: path.join(s.root, stage.wdir),
    env: stageEnv(stage.name, grant, env.hasGpus, stage.env, stage.params),
    grant,
    resources: stage.resources,
    cacheDir: s.store.dir,
    jobDir: env.ws.jobDir(stage.name, a.key),
    log: (rel, stream, line) => env.emit({ type: 'stage-log', time: Date.now(), stage: stage.name, stream, line: rel ? `${rel}: ${line}` : line }),
  });
  try {
    return await runItems(s, a, env, o, runner);
  } finally {
    await runner.close();
  }
}

export interface PerItemOptions {
  tmp: string;
  redirects: { rel: string; abs: string }[];
  init: StageInit;
  tempStat: StatCache;
  executor: ItemExecutor;
  /** Set by runPerItem: how map.out is committed (see out-overlay.ts). */
  overlay?: OutOverlay;
}

async function runItems(s: Session, a: StageAssessment, env: ExecEnv, o: PerItemOptions, runner: ItemRun): Promise<Result<void, Failure>> {
  const stage = a.stage;
  const map = stage.map!;
  const mapOut = o.redirects.find((r) => r.rel === map.out)!;
  const reduce = stage.kind === 'uses' ? (s.builtins.get(stage.uses!)!.stage as PerItemStage).reduce : undefined;
  // Only a stage with reduce needs every item's summary; the rest keep nothing per cached item.
  const summaries: { rel: string; summary: Json | undefined }[] | undefined = reduce ? [] : undefined;
  const setSummary = (at: number, summary: unknown) => {
    if (summaries) summaries[at]!.summary = summary as Json | undefined;
  };
  // Cached items whose outputs are already in the output folder stay there
  // untouched; other cached items are copied from the cache into the temp folder.
  const overlay = new OutOverlay(path.join(s.root, map.out), currentRecord(s, a, map.out));
  o.overlay = overlay;
  const todo: Item[] = [];
  let total = 0;
  let kept = 0;
  const slicer = new Slicer();
  const index = ItemIndex.load(s.pipeDir, stage.name);
  const keyOf = itemKeyer(stage, a.code.hash, Object.fromEntries(Object.entries(a.deps).filter(([p]) => p !== map.in)));
  for (const i of listItems(a, s.root)) {
    await slicer.tick();
    const key = keyOf(i.rel, i.hash as never);
    const at = total++;
    summaries?.push({ rel: i.rel, summary: undefined });
    const rec = index.get(key) ?? s.store.getItemSync(key as never);
    if (rec && overlay.keep(rec.files)) kept++;
    else if (!rec || !(await placeCachedItem(s, rec.files, mapOut.abs, o.tempStat))) {
      todo.push({ rel: i.rel, input: i.input(), key, at });
      continue;
    }
    setSummary(at, rec.summary);
    index.add(key, rec);
  }
  todo.sort((x, y) => (x.rel < y.rel ? -1 : 1));
  env.emit({ type: 'stage-items', time: Date.now(), stage: stage.name, total, cached: total - todo.length, toProcess: todo.length, inPlace: kept });

  const failures: Failure[] = [];
  const itemAbort = new AbortController();
  const onOuterAbort = () => itemAbort.abort();
  env.signal.addEventListener('abort', onOuterAbort);
  let done = 0;
  const progress = () =>
    env.emit({ type: 'stage-progress', time: Date.now(), stage: stage.name, progress: { step: done, total: todo.length, message: 'items' } });
  const scratchStat = await StatCache.load(path.join(o.tmp, 'no-stat-cache.json'));

  const finishItem = async (it: Item, scratch: string, result: ItemResult): Promise<Result<void, Failure>> => {
    const rec = await recordItem(s.store, it.key, scratch, result, scratchStat);
    const files = rec.files;
    index.add(it.key, rec);
    setSummary(it.at, result.summary);
    const clash = files.find((f) => overlay.isKept(f.path));
    if (clash) return err(twoWriters(clash.path, it.rel));
    const moved = await moveTree(scratch, mapOut.abs, it.rel);
    if (moved.ok) await seedStat(o.tempStat, mapOut.abs, files);
    return moved;
  };

  const failItem = (it: Item, f: Failure) => {
    failures.push({ ...f, file: f.file ?? it.input, message: f.message.includes(it.rel) ? f.message : `${it.rel}: ${f.message}` });
    if (!env.keepGoing) itemAbort.abort();
  };

  const itemsDir = o.executor.detached ? path.join(env.ws.jobDir(stage.name, a.key), 'items') : path.join(o.tmp, 'items');
  const tasks: ItemTask[] = todo.map((it, i) => {
    const outDir = path.join(itemsDir, o.executor.detached ? it.key : String(i));
    const t: ItemTask = { rel: it.rel, input: it.input, key: it.key, outDir };
    if (stage.kind === 'cmd') t.cmd = itemCommand(stage.cmd!, { input: it.input, out: itemOutPath(outDir, it.rel), outdir: outDir, rel: it.rel });
    return t;
  });
  const byKey = new Map(todo.map((it) => [it.key, it]));
  const onItem = async (t: ItemTask, r: Result<ItemDone, Failure>): Promise<void> => {
    const it = byKey.get(t.key)!;
    let fin: Result<void, Failure>;
    if (!r.ok) fin = r;
    else if (r.value.kind === 'output') fin = await finishItem(it, t.outDir, r.value.result);
    else fin = await placeRecorded(it);
    if (!fin.ok) failItem(it, fin.error);
    done++;
    progress();
  };
  // An item the executor's job stored in the cache itself: placed like a cached item.
  const placeRecorded = async (it: Item): Promise<Result<void, Failure>> => {
    const rec = s.store.getItemSync(it.key as never);
    if (!rec || !(await placeCachedItem(s, rec.files, mapOut.abs, o.tempStat))) {
      return err({ kind: 'corrupt-cache', stage: stage.name, file: it.input, message: `${it.rel}: the job reported the item done but its record is missing or unreadable in the cache`, hint: 'run again; the item will be processed again' });
    }
    setSummary(it.at, rec.summary);
    index.add(it.key, rec);
    return ok(undefined);
  };

  try {
    await runner.run(tasks, itemAbort.signal, onItem);
  } catch (e) {
    failures.push(toFailure(e, stage.name));
  } finally {
    env.signal.removeEventListener('abort', onOuterAbort);
    if (!o.executor.detached) await rm(itemsDir, { recursive: true, force: true });
    // Also after failures: the items that did finish are found in one read next time.
    // Only a shortcut (the cache holds every record), so failing to write it is no failure.
    await index.save(stage.name).catch(() => {});
  }
  if (env.signal.aborted) return err({ kind: 'killed', stage: stage.name, message: `stage ${stage.name} was interrupted` });
  if (failures.length) {
    return err({
      kind: 'item-errors',
      stage: stage.name,
      message: `stage ${stage.name}: ${failures.length} of ${todo.length} items failed${env.keepGoing ? '' : ' (stopped at the first)'}`,
      hint: 'fix or remove the files named below; items that succeeded are cached and will not be processed again',
      causes: failures.slice(0, 20),
    });
  }

  if (reduce && summaries) {
    const ctx = makeStageContext(o.init, {
      progress: () => {},
      log: (line) => env.emit({ type: 'stage-log', time: Date.now(), stage: stage.name, stream: 'info', line }),
      signal: env.signal,
    });
    try {
      await reduce(ctx, summaries);
    } catch (e) {
      return err(toFailure(e, stage.name));
    }
  }
  return ok(undefined);
}
