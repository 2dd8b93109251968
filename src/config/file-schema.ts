/**
 * The zod schema of pipeline.yaml as written (before vars are substituted).
 * It is the single definition behind both validation of the raw file and the
 * JSON Schema that editors use (`npm run schema`, see json-schema.ts). Fields
 * that may hold a `${var}` accept that string in place of their real type;
 * after substitution the same schema is applied again, and there a leftover
 * string where a number belongs is an error.
 */
import { z } from 'zod';
import { ReportViewSchema } from './report-schema.ts';

/** Stage keys: used in instance names, on the command line and in file names. */
export const STAGE_KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** A whole-string `${name}` / `${name.sub}` reference, which keeps the referenced value's type. */
export const VAR_REF = z
  .string()
  .regex(/^\$\{\s*[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*\s*\}$/)
  .meta({ id: 'varRef', description: 'A ${var} reference, replaced by the value of that var' });

const EXECUTOR = z.enum(['local', 'slurm']);

const orVar = <T extends z.ZodType>(t: T) => z.union([t, VAR_REF]);

const scalar = z.union([z.string(), z.number()]);
const pathString = z.string().min(1).describe('A path relative to the folder holding pipeline.yaml');

const outEntry = z.union([
  pathString,
  z.strictObject({
    path: pathString,
    cache: orVar(z.boolean()).optional().describe('false: track but do not store in the cache (default true)'),
  }),
]);

const matrix = z
  .object({
    exclude: z
      .array(z.record(z.string(), scalar))
      .optional()
      .describe('Combinations to leave out, e.g. [{train: bright, test: bright}]'),
  })
  .catchall(orVar(z.array(scalar)).describe('Values of one axis of the matrix'))
  .describe('Cross product of the lists; each key is bound as ${key}. Instances are named key@v1-v2 (values in key order).');

/** One entry under `stages:`. Exactly one of `uses`/`cmd` is checked in code (see stage-entry checks). */
export const StageEntrySchema = z
  .strictObject({
    uses: z.string().optional().describe('Name of a built-in stage (from stages/)'),
    cmd: z.string().optional().describe('Shell command; {in} {out} {stem} {rel} are per-item placeholders for map stages'),
    foreach: orVar(z.array(scalar))
      .optional()
      .describe('List (or ${var} holding a list) of values; binds ${item}; instances are named key@value'),
    matrix: matrix.optional(),
    params: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Parameters: validated by the built-in stage, free-form for cmd stages (also usable as ${params.x})'),
    deps: orVar(z.array(pathString)).optional().describe('Files and folders the stage reads'),
    outs: orVar(z.array(outEntry)).optional().describe('Files and folders the stage writes'),
    metrics: orVar(z.array(pathString)).optional().describe('Small JSON metrics files the stage writes'),
    env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional().describe('Environment variables for cmd stages'),
    wdir: z.string().optional().describe('Working directory of cmd stages, relative to the repo root (paths stay repo-relative)'),
    map: z
      .strictObject({
        in: pathString.describe('Folder whose files are the items'),
        out: pathString.describe('Folder the per-item outputs go to'),
        glob: z.string().optional().describe('Glob (relative to in) selecting the items; default all files'),
      })
      .optional()
      .describe('Per-item stage: each matching file of `in` is one item, cached on its own'),
    report: orVar(z.array(ReportViewSchema))
      .optional()
      .describe('What the stage adds to `pipe report` and `pipe metrics`: tables, curves, image strips, data set views (a built-in stage declares its own; an entry with the same title changes it)'),
    resources: z
      .strictObject({
        cpu: orVar(z.number().int().min(0)).optional().describe('CPU slots (default 1); on Slurm --cpus-per-task'),
        gpu: orVar(z.number().int().min(0)).optional().describe('GPUs (default 0); on Slurm --gpus'),
        mem: orVar(z.union([z.string(), z.number()])).optional().describe('Slurm --mem, e.g. 8G (a number is megabytes)'),
        time: orVar(z.union([z.string(), z.number()])).optional().describe('Slurm --time, e.g. 2:00:00 (a number is minutes)'),
        partition: z.string().optional().describe('Slurm --partition'),
        account: z.string().optional().describe('Slurm --account'),
        gres: z.string().optional().describe('Slurm --gres, e.g. gpu:a100:1 (instead of --gpus)'),
        sbatch: z.array(z.string()).optional().describe('Extra sbatch flags, passed through, e.g. [--qos=short]'),
        chunk: orVar(z.number().int().min(1)).optional().describe('Per-item stages on Slurm: items per array task (default 100)'),
      })
      .optional()
      .describe('What the stage needs: scheduler slots here, job options on a cluster (never part of the stage key)'),
    executor: EXECUTOR.optional().describe('Where this stage runs, over the file-level executor and pipe run --executor'),
  })
  .describe('A stage: `uses:` a built-in stage or runs a `cmd:`');

export const PipelineFileSchema = z
  .strictObject({
    vars: z.record(z.string(), z.unknown()).optional().describe('Values usable as ${name} / ${name.sub} below'),
    executor: EXECUTOR.optional().describe('Where stages run by default: local (this machine) or slurm (batch jobs); pipe run --executor overrides it'),
    stages: z.record(z.string().regex(STAGE_KEY_RE), StageEntrySchema).describe('The stages, by name'),
  })
  .describe('pipe pipeline definition');


/** Keys a stage entry may hold, for "did you mean" hints. */
export const STAGE_KEYS = Object.keys(StageEntrySchema.shape);
/** Keys allowed at the top of the file. */
export const TOP_KEYS = Object.keys(PipelineFileSchema.shape);
