/**
 * Aligned, box-free text tables and human durations, shared by `pipe status`,
 * `pipe metrics` and the reporters.
 */
import stringWidth from 'string-width';

/** Terminal width of a string: East Asian wide characters count 2, ANSI codes 0. */
export function textWidth(s: string): number {
  return stringWidth(s);
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
