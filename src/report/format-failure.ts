/**
 * Renders a Failure the way wireit and tsc do: `file:line:col - error: ...`,
 * the offending source line with a squiggle under the bad text, a hint, the
 * tail of the process's stderr and any nested causes.
 */
import path from 'node:path';
import type { Failure, Span } from '../failure.ts';
import { palette } from './color.ts';
import { textWidth } from './format-table.ts';

export interface FormatFailureOptions {
  color: boolean;
  /** Returns a file's text for the source excerpt; no excerpt when absent or undefined. */
  readSource?(file: string): string | undefined;
  /** Paths are shown relative to this folder (default process.cwd()). */
  cwd?: string;
}

/** Causes beyond this many are summarised: a per-item stage can fail on thousands of files. */
const MAX_CAUSES = 20;

/** Formats one failure (and its causes) as several lines without a trailing newline. */
export function formatFailure(f: Failure, o: FormatFailureOptions): string {
  return render(f, o, '').join('\n');
}

function render(f: Failure, o: FormatFailureOptions, indent: string): string[] {
  const c = palette(o.color);
  const lines: string[] = [];
  const where = f.span
    ? `${showPath(f.span.file, o.cwd)}:${f.span.line}:${f.span.col}`
    : f.file
      ? showPath(f.file, o.cwd)
      : undefined;
  const label = f.kind === 'internal' ? 'internal error' : 'error';
  // Name the stage unless the message already does, so a bare "exited with code 1" says whose.
  const whose = f.stage && !f.message.includes(f.stage) ? ` in ${f.stage}` : '';
  lines.push(
    indent + (where ? `${c.bold(where)} - ` : '') + c.red.bold(label) + c.red(whose) + ': ' + f.message,
  );
  if (f.span) lines.push(...excerpt(f.span, o).map((l) => indent + l));
  if (f.hint) lines.push(`${indent}  ${c.cyan('hint:')} ${f.hint}`);
  if (f.stderrTail && f.stderrTail.length > 0) {
    const title = f.kind === 'internal' ? 'stack:' : `stderr (last ${f.stderrTail.length} lines):`;
    lines.push(`${indent}  ${c.dim(title)}`);
    for (const l of f.stderrTail) lines.push(`${indent}    ${c.dim(l)}`);
  }
  const causes = f.causes ?? [];
  for (const cause of causes.slice(0, MAX_CAUSES)) lines.push(...render(cause, o, indent + '  '));
  if (causes.length > MAX_CAUSES) lines.push(`${indent}  … and ${causes.length - MAX_CAUSES} more`);
  return lines;
}

function showPath(file: string, cwd = process.cwd()): string {
  if (!path.isAbsolute(file)) return file;
  const rel = path.relative(cwd, file);
  // Far-away files read better absolute than as a ladder of ../
  return rel === '' ? file : rel.startsWith('..' + path.sep + '..' + path.sep) ? file : rel;
}

/**
 * The span's source line with a gutter and a squiggle (`^~~~`) under
 * `col .. col+length`. Columns are characters (as yaml's LineCounter counts);
 * tabs and wide characters are expanded so the squiggle lands under the text.
 */
function excerpt(span: Span, o: FormatFailureOptions): string[] {
  const text = o.readSource?.(span.file);
  if (text === undefined) return [];
  const src = text.split(/\r?\n/)[span.line - 1];
  if (src === undefined) return [];
  const c = palette(o.color);
  const chars = [...src];
  const start = Math.min(Math.max(span.col - 1, 0), chars.length);
  const len = Math.max(1, Math.min(span.length ?? 1, chars.length - start));
  const show = (s: string[]): string => s.map((ch) => (ch === '\t' ? '  ' : ch)).join('');
  const widthOf = (s: string[]): number => textWidth(show(s));
  const lead = ' '.repeat(widthOf(chars.slice(0, start)));
  const squiggleWidth = Math.max(1, widthOf(chars.slice(start, start + len)));
  const num = String(span.line);
  const gutter = ' '.repeat(num.length);
  return [
    `  ${c.dim(num + ' |')} ${show(chars)}`,
    `  ${c.dim(gutter + ' |')} ${lead}${c.red('^' + '~'.repeat(squiggleWidth - 1))}`,
  ];
}
