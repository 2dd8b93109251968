/**
 * Aligned, box-free text tables and human durations, shared by `pipe status`,
 * `pipe metrics` and the reporters.
 */
/**
 * string-width, once loaded. It costs ~70 ms to load (its Unicode property
 * regexes and segmenter), a tenth of a no-op `pipe status` over 10,000
 * files, for text that is nearly always plain ASCII: so it is loaded only
 * for text that needs it (see loadTextWidthFor).
 */
let unicodeWidth: ((s: string) => number) | undefined;

/** Loads the full Unicode width rules if any of `texts` has a non-ASCII character. */
export async function loadTextWidthFor(...texts: string[]): Promise<void> {
  if (unicodeWidth || texts.every((t) => PRINTABLE_ASCII.test(stripSgr(t)))) return;
  await loadTextWidth();
}

/** Loads the full Unicode width rules (the Ink UI measures whatever it shows). */
export async function loadTextWidth(): Promise<void> {
  unicodeWidth ??= (await import('string-width')).default;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
// The colour codes pipe writes (SGR: ESC [ ... m) take no columns.
const SGR = /\x1b\[[0-9;]*m/g;

function stripSgr(s: string): string {
  return s.includes('\x1b') ? s.replace(SGR, '') : s;
}

/**
 * Terminal width of a string: East Asian wide characters and emoji count 2,
 * colour codes 0. Before loadTextWidthFor has loaded the full rules,
 * non-ASCII text counts one column per code point.
 */
export function textWidth(s: string): number {
  const plain = stripSgr(s);
  if (PRINTABLE_ASCII.test(plain)) return plain.length;
  return unicodeWidth ? unicodeWidth(s) : [...plain].length;
}

/** Pads `s` with spaces to `width` terminal columns, on the right (`left` align) or left. */
export function pad(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - textWidth(s)));
  return align === 'left' ? s + fill : fill + s;
}

/**
 * Renders rows as columns separated by two spaces, each as wide as its widest
 * cell (measured in terminal columns, so coloured or CJK cells line up).
 * Trailing spaces are trimmed; rows shorter than the header get empty cells.
 * An empty header prints no header line.
 */
export function formatTable(header: string[], rows: string[][], o: { align?: ('left' | 'right')[] } = {}): string {
  const all = header.length > 0 ? [header, ...rows] : rows;
  const cols = Math.max(0, ...all.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < cols; c++) widths.push(Math.max(0, ...all.map((r) => textWidth(r[c] ?? ''))));
  const line = (r: string[]): string => {
    const cells: string[] = [];
    for (let c = 0; c < cols; c++) {
      const last = c === cols - 1;
      const align = o.align?.[c] ?? 'left';
      const cell = r[c] ?? '';
      // The last left-aligned column needs no padding: it would only become trailing spaces.
      cells.push(last && align === 'left' ? cell : pad(cell, widths[c] ?? 0, align));
    }
    return cells.join('  ').trimEnd();
  };
  return all.map(line).join('\n');
}

/**
 * Short human duration: "850ms", "12.3s", "4m 05s", "1h 02m". Rounds to the
 * unit shown, carrying into the next unit (59.96 s prints "1m 00s", not "60.0s").
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
  const secs = Math.round(ms / 1000);
  if (secs < 3600) return `${Math.floor(secs / 60)}m ${String(secs % 60).padStart(2, '0')}s`;
  const mins = Math.round(ms / 60_000);
  return `${Math.floor(mins / 60)}h ${String(mins % 60).padStart(2, '0')}m`;
}
