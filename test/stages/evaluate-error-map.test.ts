/** evaluate's error maps (what the report shows under "errors"): written by the stage, read back as real PNGs. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { writeErrorMap, writePrediction } from '../../stages/evaluate/render.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pipe-errmap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const palette: [number, number, number][] = [
  [0, 0, 0],
  [128, 0, 0],
  [0, 128, 0],
];

describe('writeErrorMap', () => {
  it('paints wrong pixels red, right ones in the dimmed class colour, ignored ones in the ignore colour, and returns the error share', async () => {
    // 4x1: right background, right valve, wrong (pipe predicted valve), ignored.
    const label = { width: 4, height: 1, channels: 1, data: Uint8Array.from([0, 1, 2, 255]) };
    const pred = [0, 1, 1, 2];
    const file = path.join(dir, 'e.png');
    const wrong = await writeErrorMap(file, label, pred, palette);
    expect(wrong).toBeCloseTo(1 / 3);
    const { data } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([...data]).toEqual([40, 40, 40, 72, 40, 40, 255, 40, 40, 224, 224, 192]);
  });

  it('writes the ground truth in class colours with the same palette as the predictions', async () => {
    const file = path.join(dir, 't.png');
    await writePrediction(file, Uint8Array.from([2, 0, 255]), 3, 1, palette);
    const { data } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([...data]).toEqual([0, 128, 0, 0, 0, 0, 224, 224, 192]);
  });
});
