/**
 * The stage graph: which stage instance feeds which, through the paths they
 * declare. Stage B depends on A when a dep of B (its map.in included) equals,
 * lies inside, or contains an out or metric of A. Built once per command from
 * a Pipeline; pure, no file system access.
 */
import { failure, type Failure, type Span } from './failure.ts';
import type { Pipeline, StageInstance } from './model.ts';
import { suggest } from './config/suggest.ts';
import { isWithin, normaliseRepoPath } from './config/paths.ts';
import { err, ok, type Result } from './util/result.ts';

export interface Graph {
  pipeline: Pipeline;
  stages: Map<string, StageInstance>;
  /** Topological order; among stages free to go in any order, file order. */
  order: string[];
  /** stage -> stages it depends on (in file order). */
  upstream: Map<string, string[]>;
  /** stage -> stages that depend on it (in file order). */
  downstream: Map<string, string[]>;
  /** The stage whose out or metric equals or contains `path` (repo-relative). */
  producerOf(path: string): string | undefined;
}

/** One written path: an out or a metric of a stage. */
interface Written {
  path: string;
  stage: string;
  span?: Span;
}

/** Builds the graph, reporting outputs written twice and cycles. */
export function buildGraph(p: Pipeline): Result<Graph, Failure[]> {
  const stages = new Map(p.stages.map((s) => [s.name, s]));
  const index = new Map(p.stages.map((s, i) => [s.name, i]));
  const written = writtenPaths(p.stages);
  const failures = duplicateOuts(written);
  const byPath = new Map(written.map((w) => [w.path, w]));
  const sorted = [...byPath.keys()].sort();

  /** Writers of `path` itself or of a folder holding it. */
  const ancestorsOf = (path: string): Written[] => {
    const found: Written[] = [];
    for (let q = path; ; ) {
      const w = byPath.get(q);
      if (w) found.push(w);
      const slash = q.lastIndexOf('/');
      if (slash === -1) break;
      q = q.slice(0, slash);
    }
    return found;
  };
  /** Writers of paths strictly inside folder `path` (a binary search over the sorted paths). */
  const descendantsOf = (path: string): Written[] => {
    const lo = path + '/';
    let i = lowerBound(sorted, lo);
    const found: Written[] = [];
    for (; i < sorted.length && sorted[i]!.startsWith(lo); i++) found.push(byPath.get(sorted[i]!)!);
    return found;
  };

  // edges: consumer -> (producer -> the dep that links them)
  const via = new Map<string, Map<string, string>>();
  for (const s of p.stages) {
    const links = new Map<string, string>();
    for (const dep of s.deps) {
      const writers = dep === '.' ? written : [...ancestorsOf(dep), ...descendantsOf(dep)];
      for (const w of writers) if (!links.has(w.stage)) links.set(w.stage, dep === '.' ? w.path : dep);
    }
    via.set(s.name, links);
  }

  const byFile = (a: string, b: string) => index.get(a)! - index.get(b)!;
  const upstream = new Map<string, string[]>();
  const downstream = new Map<string, string[]>(p.stages.map((s) => [s.name, []]));
  for (const s of p.stages) {
    const ups = [...via.get(s.name)!.keys()].sort(byFile);
    upstream.set(s.name, ups);
    for (const u of ups) downstream.get(u)!.push(s.name);
  }
  for (const list of downstream.values()) list.sort(byFile);

  failures.push(...cycles(p.stages.map((s) => s.name), upstream, via, stages));
  if (failures.length) return err(failures);

  const order = topoOrder(p.stages.map((s) => s.name), upstream, downstream, index);
  return ok({
    pipeline: p,
    stages,
    order,
    upstream,
    downstream,
    producerOf(path: string) {
      const n = normaliseRepoPath(path);
      if (!n.ok) return undefined;
      return ancestorsOf(n.value)[0]?.stage;
    },
  });
}

/**
 * The stages to run for `targets`: each an instance name (`train@dark`), a
 * template name (`train`: all its instances) or a path some stage writes;
 * with their upstream stages unless `upstream` is false. Topological order.
 */
export function selectStages(g: Graph, targets: string[], opts: { upstream?: boolean } = {}): Result<string[], Failure> {
  const withUpstream = opts.upstream ?? true;
  const picked = new Set<string>();
  for (const t of targets) {
    const direct = g.stages.has(t) ? [t] : [...g.stages.values()].filter((s) => s.template === t).map((s) => s.name);
    const fromPath = direct.length ? [] : [g.producerOf(t)].filter((x): x is string => x !== undefined);
    const found = direct.length ? direct : fromPath;
    if (found.length === 0) {
      const names = [...new Set([...g.stages.values()].flatMap((s) => [s.template, s.name]))];
      const close = suggest(t, names);
      return err(
        failure('unknown-stage', `No stage named '${t}' in ${g.pipeline.file}.${close.length ? ` Did you mean ${close.map((c) => `'${c}'`).join(' or ')}?` : ''}`, {
          hint: `Stages: ${[...new Set([...g.stages.values()].map((s) => s.template))].join(', ') || '(none)'}. A template name selects all its instances.`,
        }),
      );
    }
    for (const f of found) picked.add(f);
  }
  if (withUpstream) {
    const stack = [...picked];
    while (stack.length) {
      for (const u of g.upstream.get(stack.pop()!) ?? []) {
        if (!picked.has(u)) {
          picked.add(u);
          stack.push(u);
        }
      }
    }
  }
  return ok(g.order.filter((n) => picked.has(n)));
}

/**
 * Deps that no stage produces and that do not exist: `exists` is asked about
 * each repo-relative path. One failure per missing path, naming the stages
 * that need it.
 */
export function findMissingDeps(g: Graph, exists: (rel: string) => boolean): Failure[] {
  const written = writtenPaths(g.pipeline.stages);
  const missing = new Map<string, { stages: string[]; span?: Span }>();
  // File order, so a dep several stages share is reported where it is first written.
  for (const s of g.pipeline.stages) {
    const name = s.name;
    s.deps.forEach((dep, i) => {
      // Produced when a stage writes it, a folder holding it, or something inside it.
      if (written.some((w) => isWithin(dep, w.path) || isWithin(w.path, dep))) return;
      const m = missing.get(dep);
      if (m) {
        m.stages.push(name);
        return;
      }
      if (exists(dep)) return;
      const span = s.spans[`deps.${i}`];
      missing.set(dep, { stages: [name], ...(span ? { span } : {}) });
    });
  }
  return [...missing.entries()].map(([dep, m]) =>
    failure('missing-dep', `'${dep}' is needed by ${m.stages.map((s) => `'${s}'`).join(', ')} but does not exist and no stage writes it.`, {
      stage: m.stages[0]!,
      file: dep,
      ...(m.span ? { span: m.span } : {}),
      hint: 'Create it, fix the path, or add a stage that lists it under outs:.',
    }),
  );
}

function writtenPaths(stages: StageInstance[]): Written[] {
  const out: Written[] = [];
  for (const s of stages) {
    s.outs.forEach((o, i) => out.push({ path: o.path, stage: s.name, ...spanOpt(o.span ?? s.spans[`outs.${i}`] ?? s.span) }));
    s.metrics.forEach((m, i) => out.push({ path: m, stage: s.name, ...spanOpt(s.spans[`metrics.${i}`] ?? s.span) }));
  }
  return out;
}

function spanOpt(span: Span | undefined): { span?: Span } {
  return span ? { span } : {};
}

/** Two stages writing the same path, or one writing inside another's out. */
function duplicateOuts(written: Written[]): Failure[] {
  const failures: Failure[] = [];
  const byPath = new Map<string, Written>();
  const reported = new Set<string>();
  const report = (a: Written, b: Written, same: boolean) => {
    const key = [a.stage, b.stage].sort().join('\0') + '\0' + b.path;
    if (reported.has(key)) return;
    reported.add(key);
    const where = (w: Written) => (w.span ? ` (${w.span.file.split('/').pop()}:${w.span.line}:${w.span.col})` : '');
    failures.push(
      failure(
        'duplicate-out',
        same
          ? `Stages '${a.stage}'${where(a)} and '${b.stage}'${where(b)} both write '${a.path}'.`
          : `'${b.path}' of stage '${b.stage}'${where(b)} lies inside '${a.path}', written by stage '${a.stage}'${where(a)}.`,
        {
          stage: b.stage,
          ...spanOpt(b.span),
          causes: [failure('duplicate-out', `'${a.stage}' writes '${a.path}' here.`, { stage: a.stage, ...spanOpt(a.span) })],
          hint: 'Every path must have one writer: give each stage (or each foreach/matrix instance, e.g. with ${item}) its own output path.',
        },
      ),
    );
  };
  for (const w of written) {
    const prev = byPath.get(w.path);
    if (prev) {
      if (prev.stage !== w.stage) report(prev, w, true);
      continue;
    }
    byPath.set(w.path, w);
  }
  for (const w of byPath.values()) {
    for (let q = w.path, slash = q.lastIndexOf('/'); slash !== -1; slash = q.lastIndexOf('/')) {
      q = q.slice(0, slash);
      const outer = byPath.get(q);
      // A stage may write a folder and a metrics file inside it; only other stages clash.
      if (outer && outer.stage !== w.stage) report(outer, w, false);
    }
  }
  return failures;
}

/** Every cycle (one per strongly connected component), each edge named with the path that links it. */
function cycles(names: string[], upstream: Map<string, string[]>, via: Map<string, Map<string, string>>, stages: Map<string, StageInstance>): Failure[] {
  const failures: Failure[] = [];
  for (const comp of stronglyConnected(names, upstream)) {
    const first = comp[0]!;
    const self = comp.length === 1 && (upstream.get(first) ?? []).includes(first);
    if (comp.length === 1 && !self) continue;
    const inComp = new Set(comp);
    // Walk producer -> consumer edges inside the component from its first stage back to it.
    const path = shortestLoop(first, inComp, upstream);
    const parts = [path[0]!];
    for (let i = 1; i < path.length; i++) parts.push(`-> ${path[i]} (via ${via.get(path[i]!)!.get(path[i - 1]!)})`);
    const others = comp.filter((c) => !path.includes(c));
    failures.push(
      failure('cycle', `Cycle: ${parts.join(' ')}.${others.length ? ` Also in this cycle: ${others.join(', ')}.` : ''}`, {
        stage: first,
        ...spanOpt(stages.get(first)?.span),
        hint: self ? `Stage '${first}' reads a path it writes; write to a new path instead.` : 'A stage cannot (even indirectly) read what it writes; split or rename one of the paths.',
      }),
    );
  }
  return failures;
}

/** Tarjan's algorithm, iterative; components in order of their first stage in the file. */
function stronglyConnected(names: string[], upstream: Map<string, string[]>): string[][] {
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const comps: string[][] = [];
  let counter = 0;
  for (const root of names) {
    if (idx.has(root)) continue;
    const work: { v: string; i: number }[] = [{ v: root, i: 0 }];
    idx.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const top = work[work.length - 1]!;
      const succ = upstream.get(top.v) ?? [];
      if (top.i < succ.length) {
        const w = succ[top.i++]!;
        if (!idx.has(w)) {
          idx.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, idx.get(w)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.v, Math.min(low.get(parent.v)!, low.get(top.v)!));
      if (low.get(top.v) === idx.get(top.v)) {
        const comp: string[] = [];
        let x: string;
        do {
          x = stack.pop()!;
          onStack.delete(x);
          comp.push(x);
        } while (x !== top.v);
        comps.push(comp);
      }
    }
  }
  const order = new Map(names.map((n, i) => [n, i]));
  for (const c of comps) c.sort((a, b) => order.get(a)! - order.get(b)!);
  return comps.sort((a, b) => order.get(a[0]!)! - order.get(b[0]!)!);
}

/** Shortest producer->consumer loop from `start` back to itself within a component (BFS over downstream edges). */
function shortestLoop(start: string, comp: Set<string>, upstream: Map<string, string[]>): string[] {
  const down = new Map<string, string[]>();
  for (const c of comp) for (const u of upstream.get(c) ?? []) if (comp.has(u)) (down.get(u) ?? down.set(u, []).get(u)!).push(c);
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of down.get(v) ?? []) {
      if (w === start) {
        const chain: string[] = [];
        for (let x = v; x !== start; x = prev.get(x)!) chain.unshift(x);
        return [start, ...chain, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Kahn's algorithm taking the earliest stage in file order whenever several are ready. */
function topoOrder(names: string[], upstream: Map<string, string[]>, downstream: Map<string, string[]>, index: Map<string, number>): string[] {
  const pending = new Map(names.map((n) => [n, (upstream.get(n) ?? []).length]));
  const ready = names.filter((n) => pending.get(n) === 0);
  const order: string[] = [];
  while (ready.length) {
    const v = ready.shift()!;
    order.push(v);
    for (const w of downstream.get(v) ?? []) {
      const left = pending.get(w)! - 1;
      pending.set(w, left);
      if (left === 0) ready.splice(lowerBoundBy(ready, index.get(w)!, (x) => index.get(x)!), 0, w);
    }
  }
  return order;
}

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lowerBoundBy<T>(arr: T[], key: number, f: (x: T) => number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (f(arr[mid]!) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
