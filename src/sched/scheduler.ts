/**
 * Runs a DAG of stages under CPU-slot and GPU-id limits. It knows nothing of
 * what a stage does: `run` is handed the grant and reports success or failure.
 * The policy of who goes next lives in the pure `pickNext`.
 */
import { pickNext, type Candidate } from './pick.ts';

/** A stage to schedule. `deps` name upstream stages in the same run; other names are ignored (already satisfied). */
export interface SchedStage {
  name: string;
  cpu: number;
  gpu: number;
  deps: string[];
}

export interface ScheduleOptions {
  stages: SchedStage[];
  /** CPU slots (parallel jobs); values below 1 count as 1. */
  jobs: number;
  /** GPU ids to hand out; empty means GPU stages run on the CPU, weighing their cpu slots. */
  gpus: string[];
  /** Keep starting stages that do not depend on a failure. */
  keepGoing: boolean;
  /** Once aborted, nothing new starts; running stages are awaited (their executors watch the same signal). */
  signal: AbortSignal;
  /** Runs one stage; resolves true on success. A rejection counts as a failure. */
  run(name: string, grant: { gpus: string[]; cpu: number }): Promise<boolean>;
  /** Called once for every stage that will not start, with a sentence saying why. */
  onNotRun(name: string, because: string): void;
}

type State = 'pending' | 'running' | 'done' | 'failed' | 'not-run';

/**
 * Longest chain of dependents below each stage (0 for a sink), so the
 * critical path starts first. Cycles (the planner rejects them, so only a bug
 * gets here) count as 0 instead of recursing forever.
 */
export function downstreamDepth(stages: SchedStage[]): Map<string, number> {
  const names = new Set(stages.map((s) => s.name));
  const dependents = new Map<string, string[]>(stages.map((s) => [s.name, []]));
  for (const s of stages) for (const d of s.deps) if (names.has(d) && d !== s.name) dependents.get(d)!.push(s.name);
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (n: string): number => {
    const known = depth.get(n);
    if (known !== undefined) return known;
    if (visiting.has(n)) return 0;
    visiting.add(n);
    let best = 0;
    for (const m of dependents.get(n) ?? []) best = Math.max(best, 1 + visit(m));
    visiting.delete(n);
    depth.set(n, best);
    return best;
  };
  for (const s of stages) visit(s.name);
  return depth;
}

/** Schedules every stage; resolves when all have finished, failed or been reported not-run. */
export async function schedule(o: ScheduleOptions): Promise<void> {
  const jobs = Math.max(1, Math.floor(o.jobs) || 1);
  const names = new Set(o.stages.map((s) => s.name));
  const depth = downstreamDepth(o.stages);
  const order = new Map(o.stages.map((s, i) => [s.name, i]));
  const gpuOrder = new Map(o.gpus.map((g, i) => [g, i]));
  const state = new Map<string, State>(o.stages.map((s) => [s.name, 'pending']));
  const deps = new Map(o.stages.map((s) => [s.name, [...new Set(s.deps.filter((d) => names.has(d) && d !== s.name))]]));
  const dependents = new Map<string, string[]>(o.stages.map((s) => [s.name, []]));
  for (const [n, ds] of deps) for (const d of ds) dependents.get(d)!.push(n);

  let freeCpu = jobs;
  let freeGpus = [...o.gpus];
  let running = 0;
  let firstFailure: string | undefined;
  let wake: (() => void) | undefined;

  const notRun = (name: string, because: string) => {
    if (state.get(name) !== 'pending') return;
    state.set(name, 'not-run');
    o.onNotRun(name, because);
  };

  /** Marks everything downstream of `root` not-run, naming the stage that failed. */
  const skipDownstream = (from: string, root: string) => {
    for (const d of dependents.get(from) ?? []) {
      if (state.get(d) !== 'pending') continue;
      notRun(d, `depends on '${root}', which failed`);
      skipDownstream(d, root);
    }
  };

  const start = (name: string, grant: { gpus: string[]; cpu: number }) => {
    state.set(name, 'running');
    running++;
    freeCpu -= grant.cpu;
    freeGpus = freeGpus.filter((g) => !grant.gpus.includes(g));
    // Promise.resolve().then: a run() that throws synchronously is a failure too.
    Promise.resolve()
      .then(() => o.run(name, { gpus: [...grant.gpus], cpu: grant.cpu }))
      .then(
        (success) => success === true,
        () => false,
      )
      .then((success) => {
        running--;
        freeCpu += grant.cpu;
        freeGpus = [...freeGpus, ...grant.gpus].sort((a, b) => (gpuOrder.get(a) ?? 0) - (gpuOrder.get(b) ?? 0));
        if (success) state.set(name, 'done');
        else {
          state.set(name, 'failed');
          firstFailure ??= name;
          skipDownstream(name, name);
        }
        wake?.();
      });
  };

  const stopping = () => o.signal.aborted || (firstFailure !== undefined && !o.keepGoing);

  for (;;) {
    if (!stopping()) {
      for (;;) {
        const ready: Candidate[] = [];
        for (const s of o.stages) {
          if (state.get(s.name) !== 'pending') continue;
          if (deps.get(s.name)!.every((d) => state.get(d) === 'done')) {
            ready.push({ name: s.name, cpu: s.cpu, gpu: s.gpu, priority: depth.get(s.name) ?? 0 });
          }
        }
        const pick = pickNext(ready, { cpu: freeCpu, gpus: freeGpus }, o.gpus.length, jobs);
        if (!pick) break;
        start(pick.name, { gpus: pick.gpus, cpu: pick.cpu });
      }
    }
    if (running === 0) break;
    await new Promise<void>((resolve) => {
      wake = resolve;
      // An abort must not wait for a slot to free before the loop notices; it
      // only changes what happens once running stages finish, so no listener needed.
    });
    wake = undefined;
  }

  // Whatever is still pending will not run; say why, in input order.
  const pending = o.stages.map((s) => s.name).filter((n) => state.get(n) === 'pending');
  pending.sort((a, b) => order.get(a)! - order.get(b)!);
  for (const n of pending) {
    if (o.signal.aborted) notRun(n, 'the run was interrupted');
    else if (firstFailure !== undefined && !o.keepGoing)
      notRun(n, `not started because '${firstFailure}' failed (keep going to run stages that do not depend on it)`);
    else notRun(n, 'its dependencies form a cycle'); // only reachable through a planner bug
  }
}
