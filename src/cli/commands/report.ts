/** `pipe report`: writes report/index.html (results, curves, samples, pipeline, params, data previews). */
import { saveHashCaches } from '../../run/session.ts';
import path from 'node:path';
import type { CliIO } from '../io.ts';
import { EXIT } from '../io.ts';
import { printFailures, printWarnings } from '../errors.ts';
import { toFailure } from '../../failure.ts';
import { writeReport } from '../../report-html/write.ts';
import { sessionOrReport } from '../session.ts';

export async function reportCommand(io: CliIO, args: string[], f: { file?: string }): Promise<number> {
  if (args.length > 0) {
    io.stderr.write(`pipe report: takes no arguments (got ${args.join(' ')})\n`);
    return EXIT.usage;
  }
  const s = await sessionOrReport(io, f.file);
  if (!s) return EXIT.usage;
  let written;
  try {
    written = await writeReport(s);
  } catch (e) {
    printFailures(io, [{ ...toFailure(e), hint: 'this is a bug in pipe report; please report it with the message above' }]);
    return EXIT.failed;
  }
  printWarnings(io, await saveHashCaches(s));
  const rel = path.relative(io.cwd, written.file) || written.file;
  const notUp = written.data.stages.filter((s) => s.state !== 'up to date').length;
  io.stdout.write(`wrote ${rel} (${Math.round(written.bytes / 1024)} KiB)\n`);
  if (notUp) io.stdout.write(`${notUp} stage(s) not up to date: the report shows which and why\n`);
  return EXIT.ok;
}
