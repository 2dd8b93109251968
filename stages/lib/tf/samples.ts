/**
 * Pairing images with their labels for `train` and `evaluate`: both folders
 * are indexed by path without extension (any image format, any case, in
 * sub-folders), then paired by a split list or, without one, by every name
 * the two folders share.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FailureError, failure } from '../../../src/stage-api.ts';
import { IMAGE_EXTS } from '../image/io.ts';

export interface Sample {
  /** Name of the sample: the file path without extension, relative to its folder (`sub/x`). */
  stem: string;
  /** Absolute paths. */
  image: string;
  label: string;
}

/** A folder to pair: its absolute path and the name messages use (repo-relative). */
export interface NamedDir {
  abs: string;
  name: string;
}

const EXT = '(?:png|bmp|jpe?g|tiff?|webp)';
const TWO_PATHS = new RegExp(`^(.+?\\.${EXT})\\s+(.+\\.${EXT})$`, 'i');
const ONE_PATH = new RegExp(`^.+\\.${EXT}$`, 'i');

const stemOf = (p: string): string => path.posix.basename(p.replace(/\\/g, '/')).replace(/\.[^.]*$/, '');

/** The first path of a split-list line; paths may hold spaces when they end in an image extension. */
function firstPath(line: string): string {
  if (line.includes('\t')) return line.split('\t')[0]!.trim();
  const two = TWO_PATHS.exec(line);
  if (two) return two[1]!;
  if (ONE_PATH.test(line)) return line;
  return line.split(/\s+/)[0]!;
}

/**
 * Stems of a split list. Each line is `image mask` (e.g. `images/x.jpg
 * masks/x.png`), the two paths split by a tab or by the space after the
 * first image extension (so `my photo.jpg my mask.png` works), or just one
 * path; the stem of the first path names the sample. Blank lines and `#`
 * comments are skipped.
 */
export function parseSplitList(text: string): string[] {
  const stems: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    stems.push(stemOf(firstPath(line)));
  }
  return stems;
}

/**
 * Image files under `dir` by path without extension. Hidden files, JSON and
 * other non-image files (classes.json, Thumbs.db) are skipped; two files with
 * the same name and different extensions are a failure (the pairing would
 * be a guess).
 */
export async function indexImages(dir: NamedDir, what: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path.join(dir.abs, rel), { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new FailureError(
        failure('missing-dep', `cannot read the ${what} folder ${path.posix.join(dir.name, rel)} (${code ?? (e as Error).message})`, { file: dir.name }),
      );
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        await walk(r);
        continue;
      }
      const ext = path.extname(e.name);
      if (!IMAGE_EXTS.includes(ext.toLowerCase())) continue;
      const key = r.slice(0, r.length - ext.length);
      const had = out.get(key);
      if (had) {
        throw new FailureError(
          failure('io', `${what} folder ${dir.name} holds two files named ${key}: ${path.posix.basename(had)} and ${e.name}`, {
            file: path.posix.join(dir.name, r),
            hint: 'images and labels are paired by name without extension: keep one file per name',
          }),
        );
      }
      out.set(key, path.join(dir.abs, r));
    }
  };
  await walk('');
  return out;
}

export interface PairedSamples {
  samples: Sample[];
  /** Things worth telling the user that do not stop the stage (images without labels, ...). */
  warnings: string[];
}

function some(names: string[], n = 3): string {
  return names.slice(0, n).join(', ') + (names.length > n ? `, ... (${names.length} in all)` : '');
}

/**
 * Pairs images with labels. With a split list, every stem it names must have
 * both files (a 'missing-dep' failure names the first few that do not); list
 * stems are matched by file name, in any sub-folder. Without a list, every
 * name the two folders share is a sample; names found in one folder only are
 * warnings, and no shared name at all is a failure naming examples of both.
 */
export async function pairSamples(o: { images: NamedDir; labels: NamedDir; list?: NamedDir }): Promise<PairedSamples> {
  const images = await indexImages(o.images, 'image');
  const labels = await indexImages(o.labels, 'labels');
  const warnings: string[] = [];
  if (!o.list) {
    const samples: Sample[] = [];
    const noLabel: string[] = [];
    for (const [key, image] of images) {
      const label = labels.get(key);
      if (label) samples.push({ stem: key, image, label });
      else noLabel.push(key);
    }
    const noImage = [...labels.keys()].filter((k) => !images.has(k));
    if (samples.length === 0) {
      throw new FailureError(
        failure('missing-dep', `no image in ${o.images.name} has a label of the same name in ${o.labels.name}`, {
          file: o.labels.name,
          hint: `images are paired with labels by file name without extension; images: ${images.size ? some([...images.keys()]) : 'none'}; labels: ${labels.size ? some([...labels.keys()]) : 'none'}`,
        }),
      );
    }
    if (noLabel.length) warnings.push(`${noLabel.length} image(s) in ${o.images.name} have no label and are left out: ${some(noLabel)}`);
    if (noImage.length) warnings.push(`${noImage.length} label(s) in ${o.labels.name} have no image and are left out: ${some(noImage)}`);
    return { samples, warnings };
  }

  let text: string;
  try {
    text = await readFile(o.list.abs, 'utf8');
  } catch {
    throw new FailureError(failure('missing-dep', `cannot read the split list ${o.list.name}`, { file: o.list.name }));
  }
  const stems = parseSplitList(text);
  if (stems.length === 0) throw new FailureError(failure('missing-dep', `split list ${o.list.name} names no images`, { file: o.list.name }));
  const byBase = (m: Map<string, string>): Map<string, string[]> => {
    const out = new Map<string, string[]>();
    for (const key of m.keys()) {
      const b = path.posix.basename(key);
      out.set(b, [...(out.get(b) ?? []), key]);
    }
    return out;
  };
  const imageBase = byBase(images);
  const labelBase = byBase(labels);
  const missing: string[] = [];
  const samples: Sample[] = [];
  const seen = new Set<string>();
  for (const stem of stems) {
    const find = (m: Map<string, string>, base: Map<string, string[]>, dir: NamedDir): string | undefined => {
      const keys = base.get(stem) ?? [];
      if (keys.length > 1) {
        throw new FailureError(
          failure('io', `${o.list!.name} names ${stem}, which matches several files in ${dir.name}: ${keys.join(', ')}`, {
            file: o.list!.name,
            hint: 'keep file names unique across the sub-folders of a data set',
          }),
        );
      }
      if (keys.length === 0) missing.push(`${path.posix.join(dir.name, stem)}.*`);
      return keys.length ? m.get(keys[0]!) : undefined;
    };
    const image = find(images, imageBase, o.images);
    const label = find(labels, labelBase, o.labels);
    if (image && label && !seen.has(stem)) {
      seen.add(stem);
      samples.push({ stem, image, label });
    }
  }
  if (missing.length) {
    throw new FailureError(
      failure('missing-dep', `${missing.length} file(s) named by ${o.list.name} are missing, e.g. ${missing.slice(0, 3).join(', ')}`, {
        file: o.list.name,
        hint: 'images and labels are matched as <folder>/<stem>.<any image extension>, by the stem of the first path on each list line',
      }),
    );
  }
  return { samples, warnings };
}
