/**
 * Labels for `train` and `evaluate`: which class list applies (the labels
 * folder's classes.json, the stage's `classes`/`palette` params, the model's
 * own list, checked against each other), and decoding each label file with
 * that list, validated: a value that is neither a class nor the ignore label
 * is a failure naming the file, never a silent "ignore".
 *
 * Whether a file holds class indices or colours is decided by the class list,
 * never by the pixels: a colour mask whose classes happen to be grey is read
 * through its palette, and index labels are never colour-matched.
 */
import path from 'node:path';
import { FailureError, failure } from '../../../src/stage-api.ts';
import {
  CLASSES_FILE,
  describeClasses,
  describeColours,
  readClassList,
  sameColours,
  sameNames,
  type ClassList,
} from '../image/class-list.ts';
import { maskToRgb, readMask } from '../image/mask-io.ts';
import {
  autoTolerance,
  colorsToLabels,
  coloursOf,
  groupColours,
  extendPalette,
  IGNORE_LABEL,
  rgbText,
  unpackRgb,
  type ClassNames,
  type ColourList,
} from '../image/palette.ts';

/** How label files are read. */
export interface LabelSpec {
  classes: ClassList;
  /** `index`: files hold class indices (convert's output); `colour`: colour masks read through `classes.colors`. */
  mode: 'index' | 'colour';
  /** Where the class list came from, for messages. */
  source: string;
}

/** A model's class list as saved in model.json (older models know only their class count). */
export interface ModelClasses {
  numClasses: number;
  classes?: ClassList;
  /** The model folder, for messages. */
  name: string;
}

/** Largest share of one colour mask's pixels that one colour outside the palette (and colours close to it) may cover. */
export const MAX_UNKNOWN_FRACTION = 0.05;

const BINARY_HINT =
  'binary masks need a class for white: convert them with `binary: true` (values above 127 become class 1) or with a two-colour palette [{ name: background, color: [0, 0, 0] }, { name: <object>, color: [255, 255, 255] }], and train on its output';

function bad(message: string, hint?: string, file?: string): FailureError {
  return new FailureError(failure('bad-params', message, { ...(hint ? { hint } : {}), ...(file ? { file } : {}) }));
}

/**
 * The class list for a stage reading `labels`. classes.json in the labels
 * folder wins; `classes` (a count or names) and `palette` are then checks
 * (a mismatch fails, naming both). Without classes.json, `palette` means
 * colour-mask labels and `classes` index labels; `model` (evaluate) fills in
 * names and colours. No list at all is a failure saying where to put one.
 */
export async function labelSpec(o: { labelsAbs: string; labelsName: string; classes?: ClassNames; palette?: ColourList; model?: ModelClasses }): Promise<LabelSpec> {
  const file = await readClassList(o.labelsAbs, o.labelsName);
  const fileName = path.posix.join(o.labelsName, CLASSES_FILE);
  const paletteNames = o.palette && !Array.isArray(o.palette[0]) ? (o.palette as { name: string }[]).map((e) => e.name) : undefined;
  const paletteColours = o.palette ? coloursOf(o.palette) : undefined;
  const givenNames = Array.isArray(o.classes) ? o.classes : paletteNames;
  const givenCount = typeof o.classes === 'number' ? o.classes : undefined;
  if (Array.isArray(o.classes) && paletteNames && !sameNames(o.classes, paletteNames)) {
    throw bad(`the classes param names ${describeClasses(o.classes)} but the palette param names ${describeClasses(paletteNames)}`, 'name the classes in one of the two');
  }
  const counts = [givenCount, givenNames?.length, paletteColours?.length].filter((n): n is number => n !== undefined);
  if (counts.some((n) => n !== counts[0])) {
    throw bad(`the classes and palette params disagree on the number of classes (${counts.join(' vs ')})`, 'give palette one colour per class');
  }

  if (file) {
    const C = file.names.length;
    if (givenCount !== undefined && givenCount !== C) {
      throw bad(`classes is ${givenCount} but ${fileName} lists ${describeClasses(file.names)}`, `drop the classes param (the labels folder names its classes), or convert the masks with a palette of ${givenCount} classes`, fileName);
    }
    if (givenNames && !sameNames(givenNames, file.names)) {
      throw bad(`the stage's params name ${describeClasses(givenNames)} but ${fileName} lists ${describeClasses(file.names)}`, 'drop the classes/palette params (the labels folder names its classes), or make them the same list', fileName);
    }
    if (paletteColours && !sameColours(paletteColours, file.colors)) {
      throw bad(`the palette param has colours ${describeColours(paletteColours)} but ${fileName} has ${describeColours(file.colors)}`, 'drop the palette param (the labels folder names its colours), or make them the same list', fileName);
    }
    return { classes: file, mode: 'index', source: fileName };
  }

  const C = counts[0] ?? o.model?.classes?.names.length ?? o.model?.numClasses;
  if (C === undefined) {
    throw bad(
      `no class list for ${o.labelsName}: it has no ${CLASSES_FILE} and the stage has no classes or palette param`,
      `convert the masks with the convert stage (it writes ${CLASSES_FILE} beside the labels) and point labels at its out folder, or set classes: [names, in index order] (and palette: [[r, g, b], ...] when the labels are colour masks)`,
    );
  }
  const modelList = o.model?.classes && o.model.classes.names.length === C ? o.model.classes : undefined;
  const names = givenNames ?? modelList?.names ?? Array.from({ length: C }, (_, i) => `class${i}`);
  const colors = paletteColours ?? modelList?.colors ?? extendPalette(C, []);
  const source = o.palette ? 'the palette param' : o.classes !== undefined ? 'the classes param' : `the model in ${o.model!.name}`;
  return { classes: { names, colors, ignoreLabel: IGNORE_LABEL }, mode: o.palette ? 'colour' : 'index', source };
}

/**
 * Fails unless the model predicts the classes the labels hold: same number,
 * and the same names when the model knows its names.
 */
export function checkModelClasses(spec: LabelSpec, model: ModelClasses): void {
  const mine = spec.classes.names;
  const theirs = model.classes?.names;
  if (model.numClasses !== mine.length || (theirs && !sameNames(theirs, mine))) {
    const what = theirs ? describeClasses(theirs) : `${model.numClasses} classes`;
    throw bad(
      `the model in ${model.name} was trained on ${what} but ${spec.source} lists ${describeClasses(mine)}`,
      'evaluate a model on labels of the classes it was trained on (the same convert palette), or retrain it on these labels',
    );
  }
}

/** One decoded label file: class index per pixel, 255 for ignored pixels. */
export interface DecodedLabel {
  width: number;
  height: number;
  data: Uint8Array;
  /** Pixels per class. */
  counts: number[];
  /** Pixels with the ignore label (or, in colour masks, colours outside the palette). */
  ignored: number;
}

function listValues(hist: Uint32Array, pick: (v: number) => boolean): number[] {
  const out: number[] = [];
  for (let v = 0; v < 256; v++) if (hist[v]! > 0 && pick(v)) out.push(v);
  return out;
}

/**
 * Reads one label file with `spec`. Index labels: every value must be a class
 * (0..C-1) or the ignore label, and the file must not be a colour image.
 * Colour masks: colours snap to the palette within its unambiguous tolerance;
 * the rest is ignored, but one unknown colour covering more than 5% of the
 * image is a failure (a class missing from the palette).
 */
export async function decodeLabelFile(file: string, name: string, spec: LabelSpec): Promise<DecodedLabel> {
  const C = spec.classes.names.length;
  const ignore = spec.classes.ignoreLabel;
  if (spec.mode === 'colour') {
    const m = await readMask(file, name, spec.classes.colors[0]);
    const palette = spec.classes.names.map((n, i) => ({ name: n, color: spec.classes.colors[i]! }));
    const r = colorsToLabels(maskToRgb(m), palette, IGNORE_LABEL, autoTolerance(palette));
    const n = m.width * m.height;
    const groups = groupColours(r.unknownColours);
    if (groups.length && groups[0]![1] > MAX_UNKNOWN_FRACTION * n) {
      const top = groups.slice(0, 5);
      const onlyWhite = top[0]![0] === 0xffffff && m.data.every((v) => v === 0 || v === 255);
      throw new FailureError(
        failure('io', `${name}: ${((100 * top[0]![1]) / n).toFixed(1)}% of the pixels have the colour ${rgbText(unpackRgb(top[0]![0]))} (or close to it), which is no class of ${spec.source} (unknown colours: ${top.map(([k, c]) => `${rgbText(unpackRgb(k))} ${c} px`).join(', ')})`, {
          file: name,
          hint: onlyWhite ? BINARY_HINT : 'add these colours to the palette (one class each), or convert the masks with the convert stage, which maps unknown colours to the ignore label and reports them',
        }),
      );
    }
    return { width: m.width, height: m.height, data: r.labels.data, counts: r.counts, ignored: r.unknown };
  }

  const m = await readMask(file, name);
  const n = m.width * m.height;
  const values = new Uint8Array(n);
  if (m.channels === 1) values.set(m.data);
  else {
    for (let i = 0; i < n; i++) {
      const r = m.data[i * 3]!;
      if (r !== m.data[i * 3 + 1] || r !== m.data[i * 3 + 2]) {
        throw new FailureError(
          failure('io', `${name}: a colour image (pixel ${i % m.width},${Math.floor(i / m.width)} is ${rgbText([r, m.data[i * 3 + 1]!, m.data[i * 3 + 2]!])}) where class indices were expected (${spec.source})`, {
            file: name,
            hint: `convert colour masks with the convert stage and train on its out folder, or give the stage palette: [[r, g, b], ...] (one colour per class) to read them as colour masks`,
          }),
        );
      }
      values[i] = r;
    }
  }
  const hist = new Uint32Array(256);
  for (let i = 0; i < n; i++) hist[values[i]!]!++;
  const wrong = listValues(hist, (v) => v >= C && v !== ignore);
  if (wrong.length) {
    const found = listValues(hist, () => true);
    const looksBinary = found.every((v) => v === 0 || v === 255 || v === 1);
    throw new FailureError(
      failure('io', `${name}: label values ${wrong.slice(0, 8).join(', ')}${wrong.length > 8 ? ', ...' : ''} are neither a class (0..${C - 1} of ${describeClasses(spec.classes.names)}, from ${spec.source}) nor the ignore label ${ignore}; values found: ${found.slice(0, 12).join(', ')}${found.length > 12 ? ', ...' : ''}`, {
        file: name,
        hint: looksBinary
          ? BINARY_HINT
          : m.scaled16
            ? 'a 16-bit image with values above 255: save index labels as 8-bit PNGs'
            : `label files hold class indices; if these are mask colours (grey levels), convert the masks with the convert stage and a palette listing each colour; if the labels have more classes, list all of them (convert's palette, or classes: [names])`,
      }),
    );
  }
  const counts = new Array<number>(C).fill(0);
  for (let v = 0; v < C; v++) counts[v] = hist[v]!;
  const ignored = hist[ignore]!;
  if (ignore !== IGNORE_LABEL) for (let i = 0; i < n; i++) if (values[i] === ignore) values[i] = IGNORE_LABEL;
  return { width: m.width, height: m.height, data: values, counts, ignored };
}

/** Pixel counts of a set of labels. */
export interface LabelCounts {
  /** Per class, in index order. */
  pixels: number[];
  ignored: number;
}

export function addCounts(into: LabelCounts, l: Pick<DecodedLabel, 'counts' | 'ignored'>): void {
  l.counts.forEach((c, i) => (into.pixels[i] = (into.pixels[i] ?? 0) + c));
  into.ignored += l.ignored;
}

export function emptyCounts(C: number): LabelCounts {
  return { pixels: new Array<number>(C).fill(0), ignored: 0 };
}

/**
 * Checks a whole set of labels: labels that hold nothing but class 0 and the
 * ignore label 255 are binary 0/255 masks read as indices (their objects would
 * be ignored: a failure with the fix); a class with no pixels is a warning
 * (`use` says what that costs).
 * Returns the warnings.
 */
export function checkLabelSet(counts: LabelCounts, spec: LabelSpec, setName: string, use: 'training' | 'scoring'): string[] {
  const C = spec.classes.names.length;
  const objects = counts.pixels.slice(1).reduce((a, b) => a + b, 0);
  if (spec.mode === 'index' && objects === 0 && counts.ignored > 0 && spec.classes.ignoreLabel === IGNORE_LABEL) {
    throw new FailureError(
      failure('io', `the labels of ${setName} hold only 0 and 255: with 255 the ignore label, every object pixel would be ignored and only background learned or scored`, {
        hint: BINARY_HINT,
      }),
    );
  }
  const empty = spec.classes.names.filter((_, i) => (counts.pixels[i] ?? 0) === 0);
  if (empty.length === 0) return [];
  const many = empty.length > 1;
  const why = use === 'training' ? `the model cannot learn ${many ? 'them' : 'it'}` : `${many ? 'their' : 'its'} IoU is undefined and left out of the mean`;
  return [`class${many ? 'es' : ''} ${empty.map((n) => `'${n}'`).join(', ')} of ${C} ha${many ? 've' : 's'} no pixels in ${setName}: ${why}`];
}

/**
 * Repo-relative names of paths a stage reads (its `ctx.path` results may lie
 * in a temp folder or the repo), for messages.
 */
export function repoName(ctx: { root: string }): (abs: string) => string {
  return (abs) => {
    const rel = path.relative(ctx.root, abs);
    return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel.split(path.sep).join('/');
  };
}
