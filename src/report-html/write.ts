/** Writes `report/index.html` for a session (atomically: temp file, then rename). */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../cache/atomic.ts';
import type { Session } from '../run/session.ts';
import { collectReport, type ReportData } from './collect.ts';
import { renderReport } from './render.ts';

export interface WrittenReport {
  file: string;
  bytes: number;
  data: ReportData;
}

/** Collects, renders and writes the report; `outFile` defaults to `<root>/report/index.html`. */
export async function writeReport(s: Session, o: { outFile?: string; now?: Date } = {}): Promise<WrittenReport> {
  const file = o.outFile ?? path.join(s.root, 'report', 'index.html');
  const data = await collectReport(s, o.now ? { now: o.now } : {});
  const html = await renderReport(data);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, html);
  return { file, bytes: Buffer.byteLength(html), data };
}
