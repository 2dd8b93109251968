/**
 * Temporary and private folders of a run, all inside `.pipe/` so a rename
 * into the repo never crosses a filesystem. Outputs are built in temp folders
 * and swapped into place only when a stage has succeeded.
 */
import path from 'node:path';
import { mkdir, rename, rm, stat } from 'node:fs/promises';

/** A file-name-safe form of a stage instance name (`train@dark` -> `train@dark`, `a/b` -> `a_b`). */
export function safeName(stage: string): string {
  return stage.replace(/[^A-Za-z0-9@._-]/g, '_');
}

export async function exists(abs: string): Promise<boolean> {
  try {
    await stat(abs);
    return true;
  } catch {
    return false;
  }
}

export class RunWorkspace {
  readonly tmpRoot: string;
  private counter = 0;

  constructor(readonly pipeDir: string, readonly runId: string) {
    this.tmpRoot = path.join(pipeDir, 'tmp', runId);
  }

  /**
   * Removes what earlier runs left in `.pipe/tmp` (a killed runner). Only
   * called while holding the repo lock, so no other run can own those folders.
   */
  async clearStale(): Promise<void> {
    await rm(path.join(this.pipeDir, 'tmp'), { recursive: true, force: true });
  }

  /** A fresh, empty folder for one attempt of a stage. */
  async stageTemp(stage: string): Promise<string> {
    const dir = path.join(this.tmpRoot, `${safeName(stage)}.${this.counter++}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Private folder that survives failed runs of the same stage key (checkpoints). */
  workDir(stage: string, key: string): string {
    return path.join(this.pipeDir, 'work', safeName(stage), key);
  }

  /**
   * Folder of a stage key's cluster job (script, log, result, and a built-in
   * stage's temp outputs): keyed, and outside tmp/, so a run after a killed
   * runner finds the job and what it wrote. Removed once the stage is committed.
   */
  jobDir(stage: string, key: string): string {
    return path.join(this.pipeDir, 'jobs', safeName(stage), key);
  }

  async dispose(): Promise<void> {
    await rm(this.tmpRoot, { recursive: true, force: true });
  }
}

/**
 * Puts `src` at `dest`, replacing whatever was there. The old output is moved
 * aside first and deleted last, so at every moment `dest` is either the
 * complete old output or the complete new one (never a mix).
 */
export async function swapIn(src: string, dest: string, trashDir: string): Promise<void> {
  await mkdir(path.dirname(dest), { recursive: true });
  const trash = path.join(trashDir, `old-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  let moved = false;
  if (await exists(dest)) {
    await mkdir(trashDir, { recursive: true });
    await rename(dest, trash);
    moved = true;
  }
  try {
    await rename(src, dest);
  } catch (e) {
    if (moved) await rename(trash, dest);
    throw e;
  }
  if (moved) await rm(trash, { recursive: true, force: true });
}
