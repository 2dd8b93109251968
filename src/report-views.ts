/**
 * What a stage contributes to `pipe report` and `pipe metrics`, declared by
 * the stage (a built-in through `report(params)` in the stage API, a `cmd:`
 * stage through `report:` in pipeline.yaml) and placed by the engine, which
 * knows no stage and no file by name. Paths are repo-relative.
 *
 * Views with the same title (from the instances of a foreach/matrix, or from
 * several stages) are drawn together: one table with a row per instance, one
 * chart with a line per instance.
 */

/** A column of a table; `key` may end in `.*` for one column per sub-key (then `*` in `label` is that sub-key). */
export interface TableColumn {
  label: string;
  /** Dotted key in the table's JSON file (`meanIoU`, `iou.*`). */
  key: string;
  /** 'percent' shows fractions as "72.6%"; 'number' (default) as is. */
  format?: 'percent' | 'number';
  /** Mark the best cell of the column: the highest ('max') or lowest ('min'). */
  best?: 'max' | 'min';
  /**
   * A dotted key (with `*` standing for the same sub-key) whose value null
   * means the thing measured is absent, e.g. a class with no pixels in the
   * test set: the cell then says "absent" and takes no part in the best mark.
   */
  absentIf?: string;
  /** Also draw this column (each sub-key a bar) in the report's charts. */
  chart?: boolean;
}

/** A row of a table, from one JSON metrics file. */
export interface TableView {
  table: string;
  file: string;
  /** Cells that name the row, label -> value (default `{ stage: <instance name> }`). */
  row?: Record<string, string>;
  columns: TableColumn[];
  /** The best mark compares only rows with equal values of these row labels (e.g. the same test set). */
  bestWithin?: string[];
}

/** Lines from a CSV file: `x` against each `y` column, one panel per y column (label -> column, or the columns). */
export interface CurveView {
  curve: string;
  file: string;
  x: string;
  y: string[] | Record<string, string>;
}

/** Pictures from folders shown side by side, one row per file stem found in all of them (a few rows, spread evenly). */
export interface ImagesView {
  images: string;
  /** Column label -> folder; files are paired by name without extension. */
  columns: Record<string, string>;
  /** Rows shown (default 3). */
  samples?: number;
  /** The column whose files pick the rows (default the first). */
  from?: string;
  /** A JSON file `{ "<stem>": "caption" }` whose text is shown under a row's name. */
  captions?: string;
}

/** A data set at a glance: a picture, scalars of a JSON file, and bars of a list in it. */
export interface DatasetView {
  dataset: string;
  image?: string;
  file?: string;
  /** Label -> dotted key of `file` (default: every top-level number, string or boolean). */
  fields?: Record<string, string>;
  /** Labels of `fields` shown as percentages. */
  percent?: string[];
  /** Bars from a list of objects in `file`: `{ list: classes, name: name, value: fraction }`. */
  bars?: { list: string; name: string; value: string; title?: string };
}

export type ReportView = TableView | CurveView | ImagesView | DatasetView;

export type ReportViewKind = 'table' | 'curve' | 'images' | 'dataset';

export function viewKind(v: ReportView): ReportViewKind {
  if ('table' in v) return 'table';
  if ('curve' in v) return 'curve';
  if ('images' in v) return 'images';
  return 'dataset';
}

export function viewTitle(v: ReportView): string {
  if ('table' in v) return v.table;
  if ('curve' in v) return v.curve;
  if ('images' in v) return v.images;
  return v.dataset;
}

/** The paths a view reads, with where they sit in it (for normalising and error positions). */
export function viewPaths(v: ReportView): { at: (string | number)[]; path: string }[] {
  const out: { at: (string | number)[]; path: string }[] = [];
  const add = (at: (string | number)[], p: string | undefined) => p !== undefined && out.push({ at, path: p });
  if ('table' in v || 'curve' in v) add(['file'], v.file);
  else if ('images' in v) {
    for (const [k, p] of Object.entries(v.columns)) add(['columns', k], p);
    add(['captions'], v.captions);
  } else {
    add(['image'], v.image);
    add(['file'], v.file);
  }
  return out;
}
