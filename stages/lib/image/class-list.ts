/**
 * The class list a pipeline names once: `convert` writes it as `classes.json`
 * beside its index labels, `train` reads it from its labels folder and saves
 * it in the model, `evaluate` checks the model's against its labels' own.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { failure, FailureError } from '../../../src/stage-api.ts';
import { IGNORE_LABEL, rgbText, type PaletteEntry, type Rgb } from './palette.ts';

/** File name of the class list inside a labels folder. */
export const CLASSES_FILE = 'classes.json';
/** `format` field of classes.json (older files without it are read too). */
export const CLASSES_FORMAT = 'pipe-classes';

/** Names and colours of the classes, index = position, and the label of unlabelled pixels. */
export interface ClassList {
  names: string[];
  colors: Rgb[];
  ignoreLabel: number;
}

export function classListOf(palette: PaletteEntry[], ignoreLabel = IGNORE_LABEL): ClassList {
  return { names: palette.map((e) => e.name), colors: palette.map((e) => [...e.color] as Rgb), ignoreLabel };
}

/** `3 classes (background, valve, pipe)`, for messages. */
export function describeClasses(names: readonly string[]): string {
  const shown = names.length > 12 ? [...names.slice(0, 12), '...'] : names;
  return `${names.length} classes (${shown.join(', ')})`;
}

/** `(0,0,0) (128,0,0) ...`, for messages. */
export function describeColours(colors: readonly Rgb[]): string {
  return colors.map(rgbText).join(' ');
}

export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

export function sameColours(a: readonly Rgb[], b: readonly Rgb[]): boolean {
  return a.length === b.length && a.every((c, i) => c.every((v, k) => v === b[i]![k]));
}

/** Reads a class list from a parsed classes.json (or a model's copy); a message when it is not one. */
export function parseClassList(j: unknown): ClassList | string {
  if (typeof j !== 'object' || j === null) return 'not a JSON object';
  const o = j as Record<string, unknown>;
  // classes.json holds `classes: [{name, color}]`; model.json holds `{names, colors}`.
  let names: unknown[];
  let colors: unknown[];
  if (Array.isArray(o.classes)) {
    names = o.classes.map((c) => (c as Record<string, unknown> | null)?.name);
    colors = o.classes.map((c) => (c as Record<string, unknown> | null)?.color);
  } else if (Array.isArray(o.names) && Array.isArray(o.colors)) {
    names = o.names;
    colors = o.colors;
  } else return 'no `classes` list';
  if (names.length < 1) return 'the class list is empty';
  if (!names.every((n): n is string => typeof n === 'string' && n.length > 0)) return 'a class has no name';
  const isRgb = (c: unknown): c is Rgb => Array.isArray(c) && c.length === 3 && c.every((v) => Number.isInteger(v) && v >= 0 && v <= 255);
  if (colors.length !== names.length || !colors.every(isRgb)) return 'a class has no colour [r, g, b]';
  const ignore = o.ignoreLabel ?? IGNORE_LABEL;
  if (!Number.isInteger(ignore) || (ignore as number) < names.length || (ignore as number) > 255) return `ignoreLabel ${String(ignore)} is not a number from ${names.length} to 255`;
  return { names: names as string[], colors: (colors as Rgb[]).map((c) => [...c] as Rgb), ignoreLabel: ignore as number };
}

/**
 * The class list of a labels folder (`<dir>/classes.json`), or undefined when
 * the folder has none. A file that is there but unreadable is a failure.
 */
export async function readClassList(dirAbs: string, dirName: string): Promise<ClassList | undefined> {
  const file = path.join(dirAbs, CLASSES_FILE);
  const name = path.posix.join(dirName, CLASSES_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new FailureError(failure('io', `cannot read ${name}: ${(e as Error).message}`, { file: name }));
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new FailureError(failure('io', `${name} is not valid JSON (${(e as Error).message})`, { file: name, hint: 'run the convert stage that writes this folder again, or delete the file' }));
  }
  const list = parseClassList(j);
  if (typeof list === 'string') {
    throw new FailureError(failure('io', `${name} is not a class list: ${list}`, { file: name, hint: 'classes.json is written by the convert stage: { "classes": [{ "name": ..., "color": [r, g, b] }], "ignoreLabel": 255 }' }));
  }
  return list;
}
