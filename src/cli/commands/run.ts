/** `pipe run [stage...] [--force] [--dry-run] [--jobs N] [--gpus LIST] [--keep-going] [--json] [--no-wait] [--executor NAME]` */
import os from 'node:os';
import type { CliIO } from '../io.ts';
import { EXIT, readSource } from '../io.ts';
import { printFailures } from '../errors.ts';
import { selectStages } from '../../graph.ts';
import { detectGpus } from '../../exec/gpus.ts';
import { EXECUTOR_NAMES, type ExecutorName } from '../../exec/executors.ts';
import { runPipeline } from '../../run/runner.ts';
import { createReporter } from '../../report/create.ts';
import { writeLastRun } from '../../report-html/last-run.ts';
import { sessionOrReport, stagesOrReport } from '../session.ts';
import { openRemoteOrReport } from './remote.ts';
import { pull } from '../../remote/sync.ts';
import type { Session } from '../../run/session.ts';
import type { RemoteSpec } from '../../remote/config.ts';
import type { RemoteStore } from '../../remote/types.ts';
import type { PipeEvent } from '../../events.ts';
import type { Digest } from '../../hash/digest.ts';
import { isFailureError, toFailure } from '../../failure.ts';

/** `--pull`: fetch a stage's record and outputs by key; a remote that fails is a warning and the stage runs. */
function pullHook(s: Session, o: { spec: RemoteSpec; remote: RemoteStore }, emit: (e: PipeEvent) => void) {
  return async (stage: string, key: Digest): Promise<boolean> => {
    try {
      const res = await pull(s.store, [{ stage, runKey: key }], { remote: o.remote, name: o.spec.name, emit });
      for (const f of res.failures) emit({ type: 'warning', time: Date.now(), stage, message: f.message });
      return res.complete.has(key);
    } catch (e) {
      const f = isFailureError(e) ? e.failure : toFailure(e);
      emit({ type: 'warning', time: Date.now(), stage, message: `${f.message}; running the stage instead` });
      return false;
    }
  };
}

export interface RunFlags {
  file?: string;
  force: boolean;
  dryRun: boolean;
  jobs?: string;
  gpus?: string;
  keepGoing: boolean;
  json: boolean;
  wait: boolean;
  executor?: string;
  /** `--pull`: outputs from the remote when it has the stage's key. */
  pull?: boolean;
  remote?: string;
}

export async function runCommand(io: CliIO, targets: string[], f: RunFlags): Promise<number> {
  const s = await sessionOrReport(io, f.file);
  if (!s) return EXIT.usage;
  const names = stagesOrReport(io, s, targets);
  if (!names) return EXIT.usage;
  let forced = new Set<string>();
  if (f.force) {
    const own = targets.length ? selectStages(s.graph, targets, { upstream: false }) : { ok: true as const, value: s.graph.order };
    if (own.ok) forced = new Set(own.value);
  }
  const jobs = f.jobs === undefined ? os.availableParallelism() : Number(f.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) {
    printFailures(io, [{ kind: 'usage', message: `--jobs must be a whole number of at least 1, not '${f.jobs}'` }]);
    return EXIT.usage;
  }
  if (f.executor !== undefined && !(EXECUTOR_NAMES as readonly string[]).includes(f.executor)) {
    printFailures(io, [{ kind: 'usage', message: `--executor must be one of ${EXECUTOR_NAMES.join(', ')}, not '${f.executor}'` }]);
    return EXIT.usage;
  }
  // nvidia-smi costs a process start; a pipeline with no GPU stage never asks it.
  const needsGpu = names.some((n) => (s.graph.stages.get(n)?.resources.gpu ?? 0) > 0);
  const gpus = needsGpu || f.gpus !== undefined ? await detectGpus(f.gpus) : [];
  const opened = f.pull && !f.dryRun ? await openRemoteOrReport(io, s, f.remote) : undefined;
  if (f.pull && !f.dryRun && !opened) return EXIT.failed;
  const reporter = createReporter({ json: f.json, stdout: io.stdout, stderr: io.stderr, readSource, cwd: io.cwd, env: io.env });

  // First Ctrl-C: stop starting stages, kill running ones, put outputs back,
  // write the lock for what finished. A second one leaves at once.
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runPipeline(s, {
      names: names,
      forced,
      dryRun: f.dryRun,
      jobs,
      gpus,
      keepGoing: f.keepGoing,
      wait: f.wait,
      ...(f.executor !== undefined ? { executor: f.executor as ExecutorName } : {}),
      reporter,
      signal: abort.signal,
      ...(opened ? { pull: pullHook(s, opened, (e) => reporter.onEvent(e)) } : {}),
    });
    await reporter.close?.();
    // What failed and why, for `pipe report` (the lock only records successes).
    if (!f.dryRun) await writeLastRun(s.pipeDir, { finishedAt: new Date().toISOString(), summary: result.summary, failures: result.failures });
    if (abort.signal.aborted) return EXIT.interrupted;
    return result.failures.length ? EXIT.failed : EXIT.ok;
  } finally {
    await opened?.remote.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
