/**
 * Maps value paths (`['stages', 'train', 'params', 'lr']`) back to positions
 * in pipeline.yaml, so every failure can point at the text that caused it.
 * Built on `yaml`'s document nodes and LineCounter.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import type { Span } from '../failure.ts';

export type ValuePath = readonly (string | number)[];

/** What a path leads to: the value node and, for map entries, the key node. */
export interface Located {
  node?: Node;
  key?: Node;
}

export class SourceMap {
  constructor(
    readonly file: string,
    readonly text: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Span of a source offset range; the squiggle stops at the end of the line. */
  spanOfRange(start: number, end: number): Span {
    const { line, col } = this.lines.linePos(start);
    const nl = this.text.indexOf('\n', start);
    const stop = Math.min(end, nl === -1 ? this.text.length : nl);
    return { file: this.file, line, col, length: Math.max(1, stop - start) };
  }

  spanOfNode(node: Node): Span {
    const [start, end] = node.range ?? [0, 1];
    return this.spanOfRange(start, end);
  }

  /** Follows `path` through maps (including `<<` merges), sequences and aliases. */
  locate(path: ValuePath): Located {
    let node: Node | undefined = this.deref(this.doc.contents ?? undefined);
    let key: Node | undefined;
    for (const seg of path) {
      if (!node) return {};
      if (isMap(node)) {
        const pair = this.findPair(node.items as Pair[], String(seg), 0);
        if (!pair) return {};
        key = pair.key as Node | undefined;
        node = this.deref(pair.value as Node | undefined);
      } else if (isSeq(node) && typeof seg === 'number') {
        key = undefined;
        node = this.deref(node.items[seg] as Node | undefined);
      } else return {};
    }
    return node || key ? { node, key } : {};
  }

  /**
   * Span of the value at `path`, or of its key when `at` is 'key'. A missing
   * value falls back to its nearest ancestor that exists, so a missing field
   * points at the object that should hold it.
   */
  spanAt(path: ValuePath, at: 'value' | 'key' = 'value'): Span {
    for (let n = path.length; n >= 0; n--) {
      const loc = this.locate(path.slice(0, n));
      const exact = n === path.length;
      // For an ancestor, point at its key ("params:") which reads better than the whole block.
      const pick = exact ? (at === 'key' ? (loc.key ?? loc.node) : (loc.node ?? loc.key)) : (loc.key ?? loc.node);
      if (pick) return this.spanOfNode(pick);
    }
    return { file: this.file, line: 1, col: 1, length: 1 };
  }

  /**
   * Span of the `occurrence`-th appearance of `token` inside the scalar at
   * `path` (e.g. one `${name}` in a longer string); the whole scalar when the
   * raw text does not contain it verbatim (escapes, folding).
   */
  spanOfToken(path: ValuePath, token: string, occurrence: number): Span {
    const { node } = this.locate(path);
    if (node && isScalar(node) && node.range) {
      const [start, end] = node.range;
      const raw = this.text.slice(start, end);
      let at = -1;
      for (let i = 0; i <= occurrence; i++) {
        at = raw.indexOf(token, at + 1);
        if (at === -1) break;
      }
      if (at !== -1) return this.spanOfRange(start + at, start + at + token.length);
      return this.spanOfNode(node);
    }
    return this.spanAt(path);
  }

  private deref(node: Node | undefined | null): Node | undefined {
    let n = node ?? undefined;
    for (let i = 0; n && isAlias(n) && i < 100; i++) n = (n.resolve(this.doc) as Node | undefined) ?? undefined;
    return n;
  }

  private findPair(items: Pair[], key: string, depth: number): Pair | undefined {
    for (const p of items) {
      const k = p.key as Node | undefined;
      if (k && isScalar(k) && String(k.value) === key) return p;
    }
    if (depth > 20) return undefined;
    // `<<: *base` merges another map in: look there for keys not written here.
    for (const p of items) {
      const k = p.key as Node | undefined;
      if (!(k && isScalar(k) && k.value === '<<') && !(k && isMerge(k))) continue;
      const v = this.deref(p.value as Node | undefined);
      const sources = isSeq(v) ? v.items.map((i) => this.deref(i as Node)) : [v];
      for (const s of sources) {
        if (s && isMap(s)) {
          const found = this.findPair(s.items as Pair[], key, depth + 1);
          if (found) return found;
        }
      }
    }
    return undefined;
  }
}

/** yaml represents an enabled merge key as a special scalar; compare on its source. */
function isMerge(k: Node): boolean {
  return isScalar(k) && (k as { source?: unknown }).source === '<<';
}
