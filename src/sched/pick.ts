/**
 * Which ready stage to start next: a pure function so the scheduling policy is
 * table-tested apart from timers and processes (lage's `pickTaskFromQueue`).
 *
 * Policy, in one sentence: walk the ready stages from highest priority down;
 * start the first one whose weight fits, unless a higher-priority stage is
 * already waiting for a resource this one also needs.
 *
 * Why the "waiting for the same resource" rule: without it a stream of small
 * 1-slot stages would keep grabbing each slot as it frees and a 2-slot stage
 * (or the one GPU) would starve forever. With it, once the big stage is
 * blocked on CPU slots no lower-priority stage takes a slot, so the slots
 * drain and it starts. A stage blocked only on GPUs does not hold back
 * CPU-only stages, so the CPUs keep working while the GPU is busy.
 *
 * Without GPUs, a GPU stage runs on the CPU and weighs what it declares in
 * `cpu`: the threads its CPU route uses. `train` and `evaluate` run the
 * one-thread WebAssembly backend there and declare 1, so on a 2-core machine
 * two of them run side by side instead of leaving a core idle. A stage whose
 * CPU route uses every core (PyTorch with OMP threads, say) declares that many.
 */

/** A ready stage. Higher `priority` goes first (the scheduler uses the longest downstream chain). */
export interface Candidate {
  name: string;
  cpu: number;
  gpu: number;
  priority: number;
}

/** What is free right now. */
export interface Availability {
  /** Free CPU slots. */
  cpu: number;
  /** Free GPU ids, in the order they should be handed out. */
  gpus: string[];
}

/** The stage to start and what it is granted. */
export interface Pick {
  name: string;
  /** Distinct GPU ids granted (empty when running on the CPU). */
  gpus: string[];
  /** CPU slots granted (the clamped weight). */
  cpu: number;
}

/**
 * CPU slots a stage actually takes: at least 1 (every stage occupies a slot,
 * so a stage asking for 0 cannot run unboundedly many at once) and at most
 * the total, so `cpu: 8` still runs on a 2-slot machine instead of waiting forever.
 */
export function cpuWeight(cpu: number, totalCpu: number): number {
  const want = Number.isFinite(cpu) ? Math.ceil(cpu) : 1;
  return Math.max(1, Math.min(want, Math.max(1, totalCpu)));
}

/**
 * GPUs a stage takes: at most the number the machine has (a stage asking for
 * 2 on a 1-GPU machine runs on 1 rather than never), 0 when it wants none.
 */
export function gpuWeight(gpu: number, totalGpus: number): number {
  if (!(gpu > 0)) return 0;
  return Math.min(Math.ceil(gpu), totalGpus);
}

/**
 * Picks the next stage to start from `queue` (ready stages, any order) or
 * null when none may start now.
 *
 * @param totalGpus GPUs on the machine; 0 means GPU stages run on the CPU with their cpu weight.
 * @param totalCpu total CPU slots (the run's `jobs`); CPU weights are clamped to it.
 *   Omit it only when every weight is known to fit.
 */
export function pickNext(queue: Candidate[], avail: Availability, totalGpus: number, totalCpu = Infinity): Pick | null {
  // Stable sort: equal priorities keep queue order.
  const ordered = queue
    .map((c, i) => ({ c, i }))
    .sort((a, b) => b.c.priority - a.c.priority || a.i - b.i)
    .map((x) => x.c);

  let gpuWaiter = false; // a higher-priority stage waits for GPUs
  for (const c of ordered) {
    const cpu = cpuWeight(c.cpu, totalCpu);
    const nGpu = gpuWeight(c.gpu, totalGpus); // 0 on a machine without GPUs: the stage runs on the CPU

    if (nGpu > 0 && gpuWaiter) continue;

    const cpuFits = cpu <= avail.cpu;
    const gpuFits = nGpu <= avail.gpus.length;
    if (cpuFits && gpuFits) {
      return { name: c.name, gpus: avail.gpus.slice(0, nGpu), cpu };
    }
    // Every stage needs CPU slots, so a stage waiting on them holds back all
    // lower-priority stages: nothing else starts until slots drain for it.
    if (!cpuFits) return null;
    gpuWaiter = true;
  }
  return null;
}
