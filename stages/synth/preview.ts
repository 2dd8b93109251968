/**
 * The contact sheet `<out>/preview.png`: one row per scene, and per
 * condition (in the order of `conditions`) the image followed by its mask,
 * so a person can look at the data before training on it.
 */
import { encodePng } from './encode.ts';

export interface SheetRow {
  /** Image and mask per condition, RGB interleaved, all width*height. */
  tiles: { image: Uint8Array; mask: Uint8Array }[];
}

const GAP = 2;

/** Builds the sheet pixels and encodes them as PNG. */
export function contactSheet(rows: readonly SheetRow[], width: number, height: number): Promise<Buffer> {
  const cols = Math.max(1, ...rows.map((r) => 2 * r.tiles.length));
  const W = cols * width + (cols + 1) * GAP;
  const H = rows.length * height + (rows.length + 1) * GAP;
  const sheet = new Uint8Array(W * H * 3).fill(48);
  const blit = (src: Uint8Array, col: number, row: number): void => {
    const x0 = GAP + col * (width + GAP);
    const y0 = GAP + row * (height + GAP);
    for (let y = 0; y < height; y++) {
      sheet.set(src.subarray(y * width * 3, (y + 1) * width * 3), ((y0 + y) * W + x0) * 3);
    }
  };
  rows.forEach((r, i) =>
    r.tiles.forEach((t, j) => {
      blit(t.image, 2 * j, i);
      blit(t.mask, 2 * j + 1, i);
    }),
  );
  return encodePng(sheet, W, H);
}
