/**
 * Pictures in the report as data URIs of the files as they are: the report
 * is one self-contained file, and the engine decodes no image (a stage that
 * wants smaller pictures in the report writes them smaller).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export type Picture = { uri: string } | { error: string } | { none: string };

// Formats every browser shows in an <img>.
const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.bmp': 'image/bmp',
  '.avif': 'image/avif',
};

/** Largest picture embedded (bigger ones get a note, so one stray file cannot bloat the report). */
export const MAX_EMBED_BYTES = 4 * 1024 * 1024;

export function isPictureFile(name: string): boolean {
  return path.extname(name).toLowerCase() in MIME;
}

/** A data URI of an image file, or why it is not shown (`shownAs`: the repo-relative name). */
export async function embedPicture(abs: string, shownAs: string): Promise<Picture> {
  const mime = MIME[path.extname(abs).toLowerCase()];
  if (!mime) return { error: `${shownAs}: browsers cannot show ${path.extname(abs) || 'files without an extension'}` };
  let bytes: Buffer;
  try {
    bytes = await readFile(abs);
  } catch (e) {
    return { error: `cannot read ${shownAs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  if (bytes.length > MAX_EMBED_BYTES) return { error: `${shownAs} is ${(bytes.length / 1048576).toFixed(1)} MiB, too large to embed` };
  return { uri: `data:${mime};base64,${bytes.toString('base64')}` };
}
