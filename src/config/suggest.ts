/**
 * "Did you mean" suggestions for misspelt keys and stage names.
 */

/** Edit distance (insert, delete, substitute, adjacent swap) between two short strings. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Candidates close enough to `word` to be what the user meant, best first.
 * "Close" scales with length so that short words do not match everything.
 */
export function suggest(word: string, candidates: Iterable<string>, max = 3): string[] {
  const lower = word.toLowerCase();
  const limit = Math.max(1, Math.floor(word.length / 3));
  const scored: { c: string; score: number }[] = [];
  for (const c of new Set(candidates)) {
    const cl = c.toLowerCase();
    const dist = editDistance(lower, cl);
    // A prefix match ("train" for "train@dark") is a good hint even when far in edits.
    const prefix = cl.startsWith(lower) || lower.startsWith(cl);
    if (dist <= limit || (prefix && Math.min(cl.length, lower.length) >= 3)) scored.push({ c, score: prefix ? Math.min(dist, 1) : dist });
  }
  scored.sort((x, y) => x.score - y.score || x.c.localeCompare(y.c));
  return scored.slice(0, max).map((s) => s.c);
}

/** ` Did you mean 'x'?` or '' — ready to append to a message. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const s = suggest(word, candidates);
  if (s.length === 0) return '';
  return ` Did you mean ${s.map((x) => `'${x}'`).join(' or ')}?`;
}
