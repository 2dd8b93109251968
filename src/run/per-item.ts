/**
 * Per-item stages: every file of `map.in` is one item, cached on its own by
 * (stage code, params, item path, item content). Changing one image out of
 * 10,000 processes one image; the others are copied from the cache. The
 * engine owns this cache; stages only see one item at a time.
 */
import path from 'node:path';
import { linkSync, mkdirSync, statSync } from 'node:fs';
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
import { itemKey } from '../plan/fingerprint.ts';
import type { StageInit } from '../exec/stage-init.ts';
import { makeStageContext } from '../exec/stage-init.ts';
import { stageEnv, type Grant, type ItemDone, type ItemExecutor, type ItemRun, type ItemTask } from '../exec/executor.ts';
import { itemCommand, itemOutPath } from '../exec/shell-items.ts';
import { recordItem } from '../exec/record-item.ts';
import type { ExecEnv } from './exec-env.ts';

interface Item {
  rel: string;
  input: string;
  key: string;
  summary?: Json | undefined;
}

/** The items of a stage: files of map.in (already hashed as a dep) matching the glob. */
function listItems(a: StageAssessment, root: string): { rel: string; input: string; hash: string }[] {
  const map = a.stage.map!;
  const h = a.deps[map.in];
  if (!h) return [];
  if (h.kind === 'file') return [{ rel: path.posix.basename(map.in), input: path.join(root, map.in), hash: h.hash }];
  const match = picomatch(map.glob || '**', { dot: false });
  return h.manifest
    .filter((m) => match(m.path))
    .map((m) => ({ rel: m.path, input: path.join(root, map.in, ...m.path.split('/')), hash: m.hash }));
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
      return err({ kind: 'stage-error', message: `two items wrote the same output ${e.name} (the second was ${item})`, hint: 'each item must write outputs named after its own input' });
    } catch {
      await rename(src, dest);
    }
  }
  return ok(undefined);
}

/**
 * Puts a cached item's files into the temp output. Files whose previous
 * output is unchanged (by the stat cache: no read) are hard-linked from it;
 * the swap that follows deletes the old folder, so nothing shares an inode
 * with the cache. The rest are copied from the cache, verified.
 */
async function placeCachedItem(s: Session, files: ManifestEntry[], finalOut: string, tempOut: string, tempStat: StatCache, made: Set<string>): Promise<boolean> {
  const rest: ManifestEntry[] = [];
  // Synchronous stat, mkdir and link: with 999 of 1,000 items cached, thread-pool
  // round trips per file were most of a rerun's cost on a busy 2-core machine.
  for (const f of files) {
    const prev = path.join(finalOut, ...f.path.split('/'));
    const dest = path.join(tempOut, ...f.path.split('/'));
    try {
      const st = statSync(prev, { throwIfNoEntry: false });
      if (st && (s.records.fileHash(finalOut, f.path, st) ?? s.statCache.get(prev, st)) === f.hash) {
        const dir = path.dirname(dest);
        if (!made.has(dir)) {
          mkdirSync(dir, { recursive: true });
          made.add(dir);
        }
        linkSync(prev, dest);
        tempStat.set(dest, st, f.hash);
        continue;
      }
    } catch {
      // No usable previous output: copy from the cache below.
    }
    rest.push(f);
  }
  if (rest.length === 0) return true;
  if (!(await s.store.materializeItemFiles(rest, tempOut)).ok) return false;
  await seedStat(tempStat, tempOut, rest);
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
  const all = listItems(a, s.root);
  const others = Object.fromEntries(Object.entries(a.deps).filter(([p]) => p !== map.in));
  const items: Item[] = all.map((i) => ({ rel: i.rel, input: i.input, key: itemKey(stage, a.code.hash, i.rel, i.hash as never, others) }));

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
    return await runItems(s, a, env, o, items, runner);
  } finally {
    await runner.close();
  }
}

interface PerItemOptions {
  tmp: string;
  redirects: { rel: string; abs: string }[];
  init: StageInit;
  tempStat: StatCache;
  executor: ItemExecutor;
}

async function runItems(
  s: Session,
  a: StageAssessment,
  env: ExecEnv,
  o: PerItemOptions,
  items: Item[],
  runner: ItemRun,
): Promise<Result<void, Failure>> {
  const stage = a.stage;
  const map = stage.map!;
  const mapOut = o.redirects.find((r) => r.rel === map.out)!;
  // Cached items first: their files come from the previous output where it
  // is unchanged (a hard link: no copy), else from the cache objects.
  const todo: Item[] = [];
  const finalOut = path.join(s.root, map.out);
  const made = new Set<string>();
  const slicer = new Slicer();
  const index = ItemIndex.load(s.pipeDir, stage.name);
  for (const it of items) {
    await slicer.tick();
    const rec = index.get(it.key) ?? s.store.getItemSync(it.key as never);
    if (rec && (await placeCachedItem(s, rec.files, finalOut, mapOut.abs, o.tempStat, made))) {
      it.summary = rec.summary as Json | undefined;
      index.add(it.key, rec);
    } else todo.push(it);
  }
  todo.sort((x, y) => (x.rel < y.rel ? -1 : 1));
  env.emit({ type: 'stage-items', time: Date.now(), stage: stage.name, total: items.length, cached: items.length - todo.length, toProcess: todo.length });

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
    it.summary = result.summary;
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
    if (!rec || !(await placeCachedItem(s, rec.files, finalOut, mapOut.abs, o.tempStat, made))) {
      return err({ kind: 'corrupt-cache', stage: stage.name, file: it.input, message: `${it.rel}: the job reported the item done but its record is missing or unreadable in the cache`, hint: 'run again; the item will be processed again' });
    }
    it.summary = rec.summary as Json | undefined;
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

  if (stage.kind === 'uses') {
    const b = s.builtins.get(stage.uses!)!.stage as PerItemStage;
    if (b.reduce) {
      const ctx = makeStageContext(o.init, {
        progress: () => {},
        log: (line) => env.emit({ type: 'stage-log', time: Date.now(), stage: stage.name, stream: 'info', line }),
        signal: env.signal,
      });
      try {
        await b.reduce(ctx, items.map((it) => ({ rel: it.rel, summary: it.summary })));
      } catch (e) {
        return err(toFailure(e, stage.name));
      }
    }
  }
  return ok(undefined);
}
