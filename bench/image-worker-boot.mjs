// Worker entry for bench/image.ts: Node 20 workers do not run the parent's
// `--import tsx`, so register tsx here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./image-worker.ts');
