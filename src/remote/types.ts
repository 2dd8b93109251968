/**
 * One interface for every kind of remote (a folder, SSH/SFTP, S3). A remote
 * holds the local cache's layout under its root (`objects/ab/cdef...`,
 * `manifests/<hash>.json`, `runs/<key>.json`), so objects are shared by every
 * stage and every push. Keys are those `/`-separated relative paths.
 *
 * Contract every implementation keeps:
 * - an uploaded key becomes visible only when complete (temp name + rename,
 *   or a single PUT), so a killed push leaves no partial object;
 * - uploading a key that is already there (another push, at the same time)
 *   is harmless: keys are content-addressed, so both writers write the same;
 * - failures are thrown as FailureError('remote') naming the remote.
 */
export interface Transfer {
  /** The remote key, e.g. `objects/ab/cdef0123456789`. */
  key: string;
  /** The local file: read for an upload; written (a temp path) for a download. */
  local: string;
  size: number;
}

export interface RemoteStore {
  /** The remote's name and where it is, for messages (`nas (/mnt/lab/cache)`). */
  readonly label: string;
  /** Parallel transfers this remote runs. */
  readonly jobs: number;
  /** Which of `keys` exist on the remote. */
  present(keys: string[]): Promise<Set<string>>;
  /** Uploads a batch; `onDone` after each file is visible under its key. */
  upload(batch: Transfer[], onDone: (t: Transfer) => void): Promise<void>;
  /** Downloads a batch to each `local` path; missing keys are not an error, they just are not written. */
  download(batch: Transfer[], onDone: (t: Transfer) => void): Promise<void>;
  close(): Promise<void>;
}

/** The fan-out folder of an object key (`objects/ab`), or the folder of any key. */
export function keyDir(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}
