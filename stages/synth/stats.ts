/**
 * Image statistics that show how the conditions differ (the metrics of the
 * stage): brightness, contrast, the share of saturated green laser pixels,
 * and how much of the frame each class covers.
 */

/** Per-image figures, merged by `summarise`. */
export interface ImageStats {
  pixels: number;
  /** Mean luma (0..255). */
  luma: number;
  /** Standard deviation of luma over all pixels (RMS contrast, 0..255). */
  rms: number;
  /**
   * Mean |luma step| across object outlines (pixel pairs two apart, one on an
   * object and one on the background), laser-lit pixels left out; null when
   * the frame has no outline. This is the contrast the water model says the
   * dark loses: a weakly lit scene under a veil of backscatter.
   */
  edgeContrast: number | null;
  /** Pixels that look like a saturated green laser line. */
  laser: number;
  valve: number;
  pipe: number;
}

/** Per-condition summary written to stats.json. */
export interface ConditionStats {
  images: number;
  meanBrightness: number;
  edgeContrast: number;
  rmsContrast: number;
  laserPixelShare: number;
  valveShare: number;
  pipeShare: number;
}

/**
 * A pixel counts as laser when green is saturated and at least 80 levels
 * above red and blue: what a green laser line does to a camera, and what no
 * highlight under white light does.
 */
export function isLaserPixel(r: number, g: number, b: number): boolean {
  return g >= 250 && g - r >= 80 && g - b >= 80;
}

/** Laser-lit (core, glow or spot): green well above red and blue. */
const isGreenLit = (r: number, g: number, b: number): boolean => g - Math.max(r, b) > 30;

export function imageStats(rgb: Uint8Array, label: Uint8Array, width: number): ImageStats {
  const n = label.length;
  const luma = new Float32Array(n);
  const lit = new Uint8Array(n);
  let sum = 0;
  let sum2 = 0;
  let laser = 0;
  let valve = 0;
  let pipe = 0;
  for (let k = 0; k < n; k++) {
    const r = rgb[3 * k]!;
    const g = rgb[3 * k + 1]!;
    const b = rgb[3 * k + 2]!;
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    luma[k] = y;
    sum += y;
    sum2 += y * y;
    if (isLaserPixel(r, g, b)) laser++;
    if (isGreenLit(r, g, b)) lit[k] = 1;
    if (label[k] === 1) valve++;
    else if (label[k] === 2) pipe++;
  }
  let edge = 0;
  let edgeN = 0;
  const height = n / width;
  const pair = (k: number, j: number): void => {
    if (lit[k] || lit[j] || (label[k] === 0) === (label[j] === 0)) return;
    edge += Math.abs(luma[k]! - luma[j]!);
    edgeN++;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = y * width + x;
      if (x + 2 < width) pair(k, k + 2);
      if (y + 2 < height) pair(k, k + 2 * width);
    }
  }
  const mean = sum / n;
  return {
    pixels: n,
    luma: mean,
    rms: Math.sqrt(Math.max(0, sum2 / n - mean * mean)),
    edgeContrast: edgeN > 0 ? edge / edgeN : null,
    laser,
    valve,
    pipe,
  };
}

const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;
const mean = (xs: number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

/** Merges per-image stats of one condition (in the order given, so sums are reproducible). */
export function summarise(all: readonly ImageStats[]): ConditionStats {
  const pixels = all.reduce((s, x) => s + x.pixels, 0) || 1;
  return {
    images: all.length,
    meanBrightness: round(mean(all.map((x) => x.luma)), 2),
    edgeContrast: round(mean(all.flatMap((x) => (x.edgeContrast === null ? [] : [x.edgeContrast]))), 2),
    rmsContrast: round(mean(all.map((x) => x.rms)), 2),
    laserPixelShare: round(all.reduce((s, x) => s + x.laser, 0) / pixels, 6),
    valveShare: round(all.reduce((s, x) => s + x.valve, 0) / pixels),
    pipeShare: round(all.reduce((s, x) => s + x.pipe, 0) / pixels),
  };
}
