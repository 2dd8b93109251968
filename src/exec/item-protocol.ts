/** Messages between the item pool (item-pool.ts) and its worker threads (item-worker.ts). */
import type { Failure } from '../failure.ts';
import type { ItemResult } from '../stage-api.ts';
import type { Result } from '../util/result.ts';

/** One item to process: the plain-data part of an ItemContext. */
export interface ItemInit {
  stage: string;
  params: unknown;
  root: string;
  /** Absolute path of the input file. */
  input: string;
  /** Input path relative to the map's input folder, POSIX separators. */
  rel: string;
  /** Empty folder for this item's outputs. */
  outDir: string;
}

export interface PoolRequest {
  id: number;
  item: ItemInit;
}

export type WorkerReply = { type: 'log'; id: number; line: string } | { type: 'result'; id: number; result: Result<ItemResult, Failure> };
