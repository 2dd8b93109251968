/**
 * `pipe push [stage...]`, `pipe pull [stage...]` and `pipe status --remote`:
 * share the cache through a remote declared in pipe.remotes.yaml.
 */
import type { CliIO } from '../io.ts';
import { EXIT, readSource, writeAligned } from '../io.ts';
import { printFailures, printWarnings } from '../errors.ts';
import { sessionOrReport, stagesOrReport } from '../session.ts';
import { saveHashCaches, type Session } from '../../run/session.ts';
import { checkoutStages } from '../../run/checkout.ts';
import { createReporter } from '../../report/create.ts';
import { formatTable } from '../../report/format-table.ts';
import { formatBytes } from '../../report/format-transfer.ts';
import { isFailureError, toFailure, type Failure } from '../../failure.ts';
import type { Digest } from '../../hash/digest.ts';
import type { RunRecord } from '../../cache/store.ts';
import { trackedOuts } from '../../plan/outputs.ts';
import { loadRemotes, pickRemote, type RemoteSpec } from '../../remote/config.ts';
import { openRemote } from '../../remote/open.ts';
import type { RemoteStore } from '../../remote/types.ts';
import { outRefsOf, pull, push, remoteStatus, runRecordFromLock, type StageRefs, type SyncEnv } from '../../remote/sync.ts';
import type { Reporter } from '../../events.ts';

export interface RemoteFlags {
  file?: string;
  remote?: string;
  json: boolean;
}

/** The declared remote, opened; undefined after printing why not. */
export async function openRemoteOrReport(io: CliIO, s: Session, name: string | undefined): Promise<{ spec: RemoteSpec; remote: RemoteStore } | undefined> {
  const cfg = await loadRemotes(s.root);
  const spec = cfg.ok ? pickRemote(cfg.value, name, s.root) : cfg;
  if (!spec.ok) {
    printFailures(io, [spec.error]);
    return undefined;
  }
  try {
    return { spec: spec.value, remote: await openRemote(spec.value) };
  } catch (e) {
    printFailures(io, [isFailureError(e) ? e.failure : toFailure(e)]);
    return undefined;
  }
}

/** The stages of `names` the lock records, as what a remote should hold for them (cached outs only). */
function lockedStages(s: Session, names: string[]): { refs: StageRefs[]; unrecorded: string[] } {
  const refs: StageRefs[] = [];
  const unrecorded: string[] = [];
  for (const name of names) {
    const entry = s.lock.stages[name];
    const stage = s.graph.stages.get(name);
    if (!entry || !stage) {
      unrecorded.push(name);
      continue;
    }
    const uncached = new Set(trackedOuts(stage).filter((t) => !t.cache).map((t) => t.path));
    const outs = Object.fromEntries(Object.entries(entry.outs).filter(([p]) => !uncached.has(p)));
    refs.push({ stage: name, runKey: entry.key, outs: outRefsOf({ ...entry, outs }) });
  }
  return { refs, unrecorded };
}

function reporterFor(io: CliIO, json: boolean): Reporter {
  return createReporter({ json, stdout: io.stdout, stderr: io.stderr, readSource, cwd: io.cwd, env: io.env });
}

/** What a push or pull says when done: printed after the reporter is closed, so Ink's last frame stays intact. */
interface Outcome {
  failures: Failure[];
  line?: string;
}

/** Runs `body` with the remote open and closes both whatever happens; a thrown remote failure is printed. */
async function withRemote(io: CliIO, s: Session, f: RemoteFlags, body: (env: SyncEnv) => Promise<Outcome>): Promise<number> {
  const opened = await openRemoteOrReport(io, s, f.remote);
  if (!opened) return EXIT.failed;
  const reporter = reporterFor(io, f.json);
  let out: Outcome;
  try {
    out = await body({ remote: opened.remote, name: opened.spec.name, emit: (e) => reporter.onEvent(e) });
  } catch (e) {
    out = { failures: [isFailureError(e) ? e.failure : toFailure(e)] };
  } finally {
    await reporter.close?.();
    await opened.remote.close();
  }
  if (out.line && !f.json) io.stdout.write(out.line + '\n');
  printFailures(io, out.failures);
  return out.failures.length ? EXIT.failed : EXIT.ok;
}

/**
 * What push, pull and status --remote start with: the session and the named
 * stages (all when none; no upstream) the lock records; undefined after
 * printing why not. Named stages the lock lacks are said when `verb` is given.
 */
async function lockedSelection(
  io: CliIO,
  targets: string[],
  f: RemoteFlags,
  verb?: string,
): Promise<{ s: Session; refs: StageRefs[]; unrecorded: string[] } | undefined> {
  const s = await sessionOrReport(io, f.file);
  if (!s) return undefined;
  const names = stagesOrReport(io, s, targets, { upstream: false });
  if (!names) return undefined;
  const { refs, unrecorded } = lockedStages(s, names);
  if (verb && targets.length) {
    for (const n of unrecorded) io.stderr.write(`${n}: not in pipeline.lock, nothing to ${verb} (run it with \`pipe run ${n}\`)\n`);
  }
  return { s, refs, unrecorded };
}

export async function pushCommand(io: CliIO, targets: string[], f: RemoteFlags): Promise<number> {
  const sel = await lockedSelection(io, targets, f, 'push');
  if (!sel) return EXIT.usage;
  const { s, refs } = sel;
  // Run records let `pipe run --pull` elsewhere find a stage by its key. A
  // clone that got its outputs by checkout has none yet: make it from the lock.
  const records = new Map<Digest, RunRecord>();
  for (const r of refs) {
    const stage = s.graph.stages.get(r.stage)!;
    if (trackedOuts(stage).some((t) => !t.cache)) continue; // cannot be restored from a remote
    let rec = await s.store.getRun(r.runKey);
    if (!rec) {
      rec = runRecordFromLock(r.stage, s.lock.stages[r.stage]!);
      await s.store.putRun(r.runKey, rec);
    }
    records.set(r.runKey, rec);
  }
  return withRemote(io, s, f, async (env) => {
    const res = await push(s.store, refs, records, env);
    return { failures: res.failures, line: `pushed ${res.sent.objects} file(s), ${formatBytes(res.sent.bytes)} to ${env.remote.label}; ${res.skipped} already there` };
  });
}

export async function pullCommand(io: CliIO, targets: string[], f: RemoteFlags): Promise<number> {
  const sel = await lockedSelection(io, targets, f, 'pull');
  if (!sel) return EXIT.usage;
  const { s, refs } = sel;
  return withRemote(io, s, f, async (env) => {
    // Temps of a killed earlier pull (their process is gone); what it finished was renamed in and stays.
    await s.store.cleanTemps();
    const res = await pull(s.store, refs, env);
    const co = await checkoutStages(s, refs.map((r) => r.stage));
    printWarnings(io, await saveHashCaches(s));
    return {
      failures: [...res.failures, ...co.failures],
      line:
        `pulled ${res.received.objects} file(s), ${formatBytes(res.received.bytes)} from ${env.remote.label}; ` +
        `${co.restored.length} output(s) restored, ${co.same} already as recorded`,
    };
  });
}

/** `pipe status --remote`: per stage in the lock, what the remote has and lacks. */
export async function remoteStatusCommand(io: CliIO, targets: string[], f: RemoteFlags): Promise<number> {
  const sel = await lockedSelection(io, targets, f);
  if (!sel) return EXIT.usage;
  const { s, refs, unrecorded } = sel;
  const opened = await openRemoteOrReport(io, s, f.remote);
  if (!opened) return EXIT.failed;
  try {
    const st = await remoteStatus(s.store, refs, { remote: opened.remote, name: opened.spec.name, emit: () => {} });
    if (f.json) {
      io.stdout.write(JSON.stringify({ remote: opened.spec.name, stages: st.stages, notInLock: unrecorded, failures: st.failures }) + '\n');
    } else {
      const lacks = (t: { objects: number; bytes: number }, all: number) =>
        t.objects === 0 ? 'has all' : `lacks ${t.objects} of ${all} file(s), ${formatBytes(t.bytes)}`;
      const rows = st.stages.map((x) => [
        x.stage,
        `${x.files} file(s), ${formatBytes(x.bytes)}${x.unknownFolders ? ` + ${x.unknownFolders} folder(s) whose manifest is nowhere` : ''}`,
        lacks(x.remoteLacks, x.files) + (x.runOnRemote ? '' : ', no run record'),
        lacks(x.localLacks, x.files),
      ]);
      for (const n of unrecorded) rows.push([n, 'never run (not in pipeline.lock)', '-', '-']);
      await writeAligned(io, rows, () => `remote ${opened.remote.label}\n` + formatTable(['stage', 'outputs', 'remote', 'local cache'], rows));
      printFailures(io, st.failures);
    }
    return st.failures.length ? EXIT.failed : EXIT.ok;
  } catch (e) {
    printFailures(io, [isFailureError(e) ? e.failure : toFailure(e)]);
    return EXIT.failed;
  } finally {
    await opened.remote.close();
  }
}
