/**
 * The enhancement operations. Each works in place on a CV_32FC3 RGB Mat with
 * values in [0, 1] and leaves it clamped to [0, 1]. OpenCV does the filtering
 * (pow, Laplacian, CLAHE, erosion, box filters); per-pixel formulas that
 * OpenCV has no single call for are plain loops over the Mat's float data.
 */
import { unreachable } from '../../src/stage-api.ts';
import { clamp01, darkChannel, greyOf, GuidedFilter, guidedFilter, percentiles } from '../lib/image/float.ts';
import type { CV, Mat } from '../lib/image/opencv.ts';
import { MatScope } from '../lib/image/opencv.ts';
import type { Op } from './schema.ts';

type HazeOp = Extract<Op, { op: 'dehaze' | 'udcp' | 'backscatter' }>;

/** Applies one operation to `img` in place. */
export function applyOp(cv: CV, img: Mat, op: Op): void {
  const s = new MatScope();
  try {
    switch (op.op) {
      case 'gamma':
        if (op.gamma !== 1) cv.pow(img, op.gamma, img);
        break;
      case 'sharpen': {
        const lap = s.add(new cv.Mat());
        cv.Laplacian(img, lap, cv.CV_32F, op.ksize, 1, 0, cv.BORDER_REFLECT);
        cv.addWeighted(img, 1, lap, -op.amount, 0, img);
        break;
      }
      case 'stretch': {
        const d = img.data32F;
        const [pl, ph] = percentiles(d, [op.low, op.high]);
        stretch(img, [op.low === 0 ? minOf(d) : pl!], [op.high === 100 ? maxOf(d) : ph!], 1);
        break;
      }
      case 'levels': {
        const lo: number[] = [];
        const hi: number[] = [];
        for (let c = 0; c < 3; c++) {
          const [l, h] = op.clip === 0 ? [channelMin(img.data32F, c), channelMax(img.data32F, c)] : percentiles(img.data32F, [op.clip, 100 - op.clip], 3, c);
          lo.push(l!);
          hi.push(h!);
        }
        stretch(img, lo, hi, 3);
        break;
      }
      case 'clahe':
        clahe(cv, img, op.clipLimit, op.tiles, s);
        break;
      case 'whiteBalance': {
        const m = channelMeans(img.data32F);
        const grey = (m[0]! + m[1]! + m[2]!) / 3;
        scaleChannels(img.data32F, m.map((v) => (v > 1e-6 ? grey / v : 1)));
        break;
      }
      case 'redCompensation': {
        // Ancuti et al. 2018: Irc = Ir + alpha (mean G - mean R) (1 - Ir) Ig
        const d = img.data32F;
        const [mr, mg, mb] = channelMeans(d) as [number, number, number];
        for (let i = 0; i < d.length; i += 3) {
          const g = d[i + 1]!;
          d[i] = d[i]! + op.alpha * (mg - mr) * (1 - d[i]!) * g;
          if (op.blue) d[i + 2] = d[i + 2]! + op.alpha * (mg - mb) * (1 - d[i + 2]!) * g;
        }
        break;
      }
      case 'dehaze':
      case 'udcp':
        dehaze(cv, img, op, op.op === 'udcp' ? [1, 2] : [0, 1, 2], s);
        break;
      case 'backscatter':
        backscatter(cv, img, op, s);
        break;
      default:
        unreachable(op, 'enhance op');
    }
    clamp01(cv, img);
  } finally {
    s.free();
  }
}

function minOf(d: Float32Array): number {
  let m = Infinity;
  for (let i = 0; i < d.length; i++) if (d[i]! < m) m = d[i]!;
  return m;
}

function maxOf(d: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < d.length; i++) if (d[i]! > m) m = d[i]!;
  return m;
}

function channelMin(d: Float32Array, c: number): number {
  let m = Infinity;
  for (let i = c; i < d.length; i += 3) if (d[i]! < m) m = d[i]!;
  return m;
}

function channelMax(d: Float32Array, c: number): number {
  let m = -Infinity;
  for (let i = c; i < d.length; i += 3) if (d[i]! > m) m = d[i]!;
  return m;
}

/** Mean of each RGB channel of interleaved float data. */
export function channelMeans(d: Float32Array): number[] {
  const sum = [0, 0, 0];
  for (let i = 0; i < d.length; i += 3) {
    sum[0]! += d[i]!;
    sum[1]! += d[i + 1]!;
    sum[2]! += d[i + 2]!;
  }
  const n = d.length / 3 || 1;
  return sum.map((v) => v / n);
}

function scaleChannels(d: Float32Array, k: number[]): void {
  for (let i = 0; i < d.length; i += 3) {
    d[i] = d[i]! * k[0]!;
    d[i + 1] = d[i + 1]! * k[1]!;
    d[i + 2] = d[i + 2]! * k[2]!;
  }
}

/** Maps [lo, hi] to [0, 1]; `lo`/`hi` hold one value for all channels or one per channel. A flat range is left alone. */
function stretch(img: Mat, lo: number[], hi: number[], per: 1 | 3): void {
  const d = img.data32F;
  const scale = lo.map((l, i) => (hi[i]! - l > 1e-6 ? 1 / (hi[i]! - l) : NaN));
  for (let i = 0; i < d.length; i++) {
    const c = per === 1 ? 0 : i % 3;
    const k = scale[c]!;
    if (!Number.isNaN(k)) d[i] = (d[i]! - lo[c]!) * k;
  }
}

function clahe(cv: CV, img: Mat, clipLimit: number, tiles: number, s: MatScope): void {
  // CLAHE needs 8-bit: go through 8-bit Lab, equalise L, come back.
  const u8 = s.add(new cv.Mat());
  img.convertTo(u8, cv.CV_8UC3, 255);
  const lab = s.add(new cv.Mat());
  cv.cvtColor(u8, lab, cv.COLOR_RGB2Lab);
  const planes = s.add(new cv.MatVector());
  cv.split(lab, planes);
  const l = s.add(planes.get(0));
  const eq = s.add(new cv.Mat());
  const tool = new cv.CLAHE(clipLimit, new cv.Size(tiles, tiles));
  try {
    tool.apply(l, eq);
  } finally {
    tool.delete();
  }
  planes.set(0, eq);
  cv.merge(planes, lab);
  cv.cvtColor(lab, u8, cv.COLOR_Lab2RGB);
  u8.convertTo(img, cv.CV_32FC3, 1 / 255);
}

/**
 * Mean colour of the pixels whose `score` is in the top `top` fraction: the
 * ambient (veiling) light as He et al. estimate it, averaged for robustness.
 */
function ambientLight(img: Mat, score: Float32Array, top: number): number[] {
  const [cut] = percentiles(score, [100 * (1 - top)]);
  const d = img.data32F;
  const sum = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < score.length; i++) {
    if (score[i]! >= cut! - 0.5 / 4096) {
      sum[0]! += d[i * 3]!;
      sum[1]! += d[i * 3 + 1]!;
      sum[2]! += d[i * 3 + 2]!;
      n++;
    }
  }
  return sum.map((v) => Math.max(v / Math.max(n, 1), 1e-3));
}

/** Refines a transmission map with the guided filter on the image's grey (radius 0 = off). */
function refine(cv: CV, img: Mat, t: Mat, op: HazeOp, s: MatScope): Mat {
  if (op.radius === 0) return t;
  const grey = s.add(greyOf(cv, img));
  return s.add(guidedFilter(cv, grey, t, op.radius, op.eps));
}

/** Dark channel prior dehazing over the given channels (all three: He et al.; G and B: UDCP). */
function dehaze(cv: CV, img: Mat, op: HazeOp, channels: number[], s: MatScope): void {
  const dark = s.add(darkChannel(cv, img, channels, op.patch));
  const A = ambientLight(img, dark.data32F, op.top);
  // transmission: t = 1 - omega * dark(I / A)
  const norm = s.add(new cv.Mat());
  const invA = s.add(new cv.Mat(img.rows, img.cols, cv.CV_32FC3, new cv.Scalar(1 / A[0]!, 1 / A[1]!, 1 / A[2]!)));
  cv.multiply(img, invA, norm);
  const darkN = s.add(darkChannel(cv, norm, channels, op.patch));
  const t = s.add(new cv.Mat());
  darkN.convertTo(t, cv.CV_32F, -op.omega, 1);
  const tr = refine(cv, img, t, op, s);
  const d = img.data32F;
  const td = tr.data32F;
  for (let i = 0; i < td.length; i++) {
    const ti = Math.max(td[i]!, op.t0);
    for (let c = 0; c < 3; c++) d[i * 3 + c] = (d[i * 3 + c]! - A[c]!) / ti + A[c]!;
  }
}

/**
 * Formation-model inversion per channel. The local minimum of each channel is
 * an upper bound on its backscatter B_c (1 - t_c) (dark-object assumption);
 * omega of it, refined by the guided filter and kept below B_c, is taken as
 * the backscatter. Then t_c = 1 - backscatter / B_c and J_c = (I_c - backscatter) / t_c.
 */
function backscatter(cv: CV, img: Mat, op: Extract<Op, { op: 'backscatter' }>, s: MatScope): void {
  const planes = s.add(new cv.MatVector());
  cv.split(img, planes);
  const k = s.add(cv.getStructuringElement(cv.MORPH_RECT, new cv.Size(op.patch, op.patch)));
  const raw: Mat[] = [];
  for (let c = 0; c < 3; c++) {
    const plane = s.add(planes.get(c));
    const floor = s.add(new cv.Mat());
    cv.erode(plane, floor, k, new cv.Point(-1, -1), 1, cv.BORDER_REFLECT);
    raw.push(floor);
  }
  // one guide (the image's grey) for the three channels: its statistics are computed once
  let floors = raw;
  if (op.radius > 0) {
    const guide = new GuidedFilter(cv, s.add(greyOf(cv, img)), op.radius, op.eps);
    try {
      floors = raw.map((f) => s.add(guide.apply(f)));
    } finally {
      guide.delete();
    }
  }
  let B = op.bInf as number[] | undefined;
  if (!B) {
    // the UDCP dark channel, min over G and B of the patch minimum: erosion commutes with the per-pixel min,
    // so it is the min of the two eroded planes above (the same values as darkChannel(img, [1, 2], patch))
    const udcp = s.add(new cv.Mat());
    cv.min(raw[1]!, raw[2]!, udcp);
    B = ambientLight(img, udcp.data32F, op.top);
  }
  const d = img.data32F;
  const f = floors.map((m) => m.data32F);
  const n = img.rows * img.cols;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const b = B[c]!;
      const back = Math.min(op.omega * Math.max(f[c]![i]!, 0), b * (1 - op.t0));
      const t = Math.max(1 - back / b, op.t0);
      d[i * 3 + c] = (d[i * 3 + c]! - back) / t;
    }
  }
}
