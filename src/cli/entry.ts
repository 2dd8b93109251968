/** The process entry of `pipe` (bin/pipe.js imports it); main() itself is importable by tests. */
import type { CliIO } from './io.ts';
import { EXIT } from './io.ts';
import { main } from './main.ts';
import { printFailures } from './errors.ts';
import { toFailure } from '../failure.ts';

// `pipe metrics | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

async function entry(): Promise<void> {
  const io: CliIO = { cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, env: process.env };
  let code: number;
  try {
    code = await main(process.argv.slice(2), io);
  } catch (e) {
    const f = toFailure(e);
    // A system error (a full disk, a permission) that escaped this far still has its own hint; anything else is a bug.
    printFailures(io, [f.kind === 'internal' ? { ...f, hint: 'this is a bug in pipe; please report it with the output above' } : f]);
    code = EXIT.failed;
  }
  process.exitCode = code;
}

await entry();
