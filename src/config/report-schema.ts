/**
 * The `report:` list of a stage in pipeline.yaml (see src/report-views.ts):
 * which tables, curves, image strips and data set views the stage adds to
 * `pipe report` and `pipe metrics`. An entry may only change a view of a
 * built-in stage (same kind and title), so fields are optional here; what a
 * complete view needs is checked once merged (config/instance.ts).
 */
import { z } from 'zod';

const path = z.string().min(1).describe('A path relative to the folder holding pipeline.yaml');
const label = z.string().min(1);
const varRef = z.string().regex(/^\$\{[^}]+\}$/);

const column = z.strictObject({
  label: label.describe('Column heading; with key `x.*`, a `*` here is replaced by each sub-key'),
  key: z.string().min(1).describe('Dotted key in the file (`meanIoU`, `iou.*`)'),
  format: z.enum(['percent', 'number']).optional().describe('percent: fractions as "72.6%"'),
  best: z.enum(['max', 'min']).optional().describe('Mark the best cell of the column'),
  absentIf: z.string().optional().describe('Key whose value null means "absent" (e.g. a class with no pixels in the test set)'),
  chart: z.union([z.boolean(), varRef]).optional().describe('Also draw the column as bars'),
});

export const TableViewSchema = z.strictObject({
  table: label.describe('Table title; rows with the same title form one table'),
  file: path.optional().describe('JSON file the cells come from'),
  row: z.record(z.string(), z.union([z.string(), z.number()])).optional().describe('Cells naming the row, label -> value (default: the stage name)'),
  columns: z.array(column).min(1).optional().describe('Value columns'),
  bestWithin: z.array(z.string()).optional().describe('Compare for the best mark only rows with equal values of these row labels'),
});

export const CurveViewSchema = z.strictObject({
  curve: label.describe('Chart title; curves with the same title share one chart, a line per stage'),
  file: path.optional().describe('CSV file with a header row'),
  x: z.string().min(1).optional().describe('Column on the x axis'),
  y: z
    .union([z.array(z.string().min(1)).min(1), z.record(z.string(), z.string().min(1))])
    .optional()
    .describe('Columns drawn (one panel each), or panel label -> column'),
});

export const ImagesViewSchema = z.strictObject({
  images: label.describe('Title of the image strip'),
  columns: z.record(z.string(), path).optional().describe('Column label -> folder; files are paired by name without extension'),
  samples: z.union([z.number().int().min(1), varRef]).optional().describe('Rows shown (default 3)'),
  from: z.string().optional().describe('Column whose files pick the rows (default the first)'),
  captions: path.optional().describe('JSON file {"<stem>": "caption"}'),
});

export const DatasetViewSchema = z.strictObject({
  dataset: label.describe('Title of the data set view'),
  image: path.optional().describe('A picture (e.g. a contact sheet)'),
  file: path.optional().describe('JSON file with the numbers'),
  fields: z.record(z.string(), z.string()).optional().describe('Label -> dotted key of file (default every top-level scalar)'),
  percent: z.array(z.string()).optional().describe('Labels of fields shown as percentages'),
  bars: z
    .strictObject({ list: z.string(), name: z.string(), value: z.string(), title: z.string().optional() })
    .optional()
    .describe('Bars from a list of objects in file'),
});

export const ReportViewSchema = z
  .union([TableViewSchema, CurveViewSchema, ImagesViewSchema, DatasetViewSchema])
  .describe('One of: table (rows from a JSON file), curve (CSV columns), images (folders side by side), dataset (a data set at a glance)');
