/**
 * Files between the runner and its Slurm jobs (slurm.ts <-> slurm-entry.ts).
 * The two may be on different machines, so they share nothing but the job
 * folder on the shared filesystem: request.json (what to run), the job log
 * (lines starting with JOB_MARK carry progress and log messages), result.json
 * (a whole stage's Result) and chunk-<i>.jsonl (one line per finished item).
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { Progress } from '../events.ts';
import type { Failure } from '../failure.ts';
import type { StageInit } from './stage-init.ts';

/** Record separator + tag: never the start of a line a stage prints by accident. */
export const JOB_MARK = '\u001epipe ';

export type SlurmRequest =
  | { kind: 'stage'; modulePath: string; init: StageInit }
  | {
      kind: 'items';
      stage: string;
      /** Built-in per-item stage; absent for `cmd:` map stages (each item carries its command). */
      modulePath?: string;
      params: unknown;
      root: string;
      cwd: string;
      cacheDir: string;
      jobDir: string;
      chunks: { key: string; rel: string; input: string; outDir: string; cmd?: string }[][];
    };

/** One finished item of an array task: recorded in the cache, or failed. */
export type ChunkLine = { key: string; ok: true } | { key: string; ok: false; failure: Failure };

/** What the runner remembers about a submitted job (job.json), so a later run can find it. */
export interface JobRecord {
  jobId: string;
  submittedAt: string;
  /** Item keys of an array job, in submission order. */
  items?: string[];
}

/** A protocol message from a job log line, or undefined for a plain line. */
export function parseMark(line: string): { progress?: Progress; log?: string } | undefined {
  if (!line.startsWith(JOB_MARK)) return undefined;
  try {
    return JSON.parse(line.slice(JOB_MARK.length)) as { progress?: Progress; log?: string };
  } catch {
    return undefined;
  }
}

/** Whole file or nothing, also on NFS: write a temp file beside it, then rename. */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, file);
}
