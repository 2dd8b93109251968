/** Opens the remote a spec describes; the S3 client is loaded only for S3 remotes. */
import type { RemoteSpec } from './config.ts';
import type { RemoteStore } from './types.ts';
import { unreachable } from '../util/result.ts';

export async function openRemote(spec: RemoteSpec): Promise<RemoteStore> {
  switch (spec.type) {
    case 'fs': {
      const { openFsRemote } = await import('./fs-remote.ts');
      return openFsRemote(spec.name, spec.dir, spec.jobs ?? 8);
    }
    case 'ssh': {
      const { openSshRemote } = await import('./ssh-remote.ts');
      return openSshRemote(spec);
    }
    case 's3': {
      const { openS3Remote } = await import('./s3-remote.ts');
      return openS3Remote(spec);
    }
    default:
      return unreachable(spec, 'remote kind');
  }
}
