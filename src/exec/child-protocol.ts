/** Messages between the runner and a stage's child process (child-stage.ts <-> child-entry.ts). */
import type { Progress } from '../events.ts';
import type { Failure } from '../failure.ts';
import type { Result } from '../util/result.ts';
import type { StageInit } from './stage-init.ts';

/** Runner -> child: the one message a child waits for before importing the stage. */
export interface InitMessage {
  type: 'init';
  modulePath: string;
  init: StageInit;
}

/** Child -> runner. */
export type ChildMessage =
  | { type: 'progress'; progress: Progress }
  | { type: 'log'; line: string }
  | { type: 'result'; result: Result<void, Failure> };

/** Narrows an IPC message from a child (anything else is ignored, never trusted). */
export function isChildMessage(m: unknown): m is ChildMessage {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return t === 'progress' || t === 'log' || t === 'result';
}
