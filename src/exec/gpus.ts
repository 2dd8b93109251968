/**
 * Which GPU ids the scheduler may hand out. GPU stages get their ids through
 * CUDA_VISIBLE_DEVICES, so these are the ids CUDA uses on this machine.
 */
import { execFile } from 'node:child_process';

export interface DetectGpuOptions {
  /** Environment to read PATH and CUDA_VISIBLE_DEVICES from (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Splits `0,1, 2` into ids; `none`, `-1` and the empty string mean no GPUs. */
export function parseGpuList(s: string): string[] {
  const t = s.trim();
  if (t === '' || t === 'none' || t === '-1') return [];
  return [...new Set(t.split(',').map((x) => x.trim()).filter((x) => x !== ''))];
}

/** Ids from `nvidia-smi -L` output (`GPU 0: NVIDIA ... (UUID: ...)` per line). */
export function parseNvidiaSmiList(out: string): string[] {
  const ids: string[] = [];
  for (const m of out.matchAll(/^GPU (\d+):/gm)) ids.push(m[1]!);
  return ids;
}

/**
 * GPUs for this run: the `--gpus` flag if given (`0,1` or `none`); otherwise
 * CUDA_VISIBLE_DEVICES if the user set it (so a shared machine's restriction
 * is honoured); otherwise what `nvidia-smi -L` lists; otherwise none.
 * A missing or failing nvidia-smi means no GPUs, never an error.
 */
export async function detectGpus(flag: string | undefined, o: DetectGpuOptions = {}): Promise<string[]> {
  if (flag !== undefined && flag.trim() !== 'all' && flag.trim() !== 'auto') return parseGpuList(flag);
  const env = o.env ?? process.env;
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) return parseGpuList(visible);
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['-L'], { env, timeout: 10_000 }, (error, stdout) => {
      resolve(error ? [] : parseNvidiaSmiList(String(stdout)));
    });
  });
}
