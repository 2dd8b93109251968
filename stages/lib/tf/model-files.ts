/**
 * The files that make a saved model, apart from what `train` writes beside them (curve, timings).
 * Kept free of tfjs so a stage's `io()` can name them without loading it: `evaluate` depends on
 * these two files only, so the wall-clock figures in `train.json`/`curve.csv` (different on every
 * run and every machine) do not change evaluate's key.
 */
export const MODEL_JSON = 'model.json';
export const MODEL_WEIGHTS = 'weights.bin';

/** Repo-relative paths of the files a model folder's consumers read. */
export function modelFiles(folder: string): string[] {
  return [`${folder}/${MODEL_JSON}`, `${folder}/${MODEL_WEIGHTS}`];
}
