/**
 * Gaussian blur of one float plane, edges clamped: an exact separable kernel
 * for small sigmas, three box passes (within a few per cent of a Gaussian,
 * constant cost per pixel) for wide halos.
 */
export function gaussianBlur(src: Float32Array, w: number, h: number, sigma: number): Float32Array {
  if (sigma <= 0.05) return src.slice();
  if (sigma > 3) return boxBlur3(src, w, h, sigma);
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let i = -r; i <= r; i++) {
        const xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
        acc += src[row + xx]! * k[i + r]!;
      }
      tmp[row + x] = acc;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let i = -r; i <= r; i++) {
        const yy = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
        acc += tmp[yy * w + x]! * k[i + r]!;
      }
      out[y * w + x] = acc;
    }
  }
  return out;
}

/** Three box blurs whose combined variance matches sigma². */
function boxBlur3(src: Float32Array, w: number, h: number, sigma: number): Float32Array {
  // Box of width 2r+1 has variance ((2r+1)^2 - 1) / 12; three of them add up.
  const r = Math.max(1, Math.round((Math.sqrt(4 * sigma * sigma + 1) - 1) / 2));
  let a = src.slice();
  let b = new Float32Array(w * h);
  for (let pass = 0; pass < 3; pass++) {
    boxLine(a, b, w, h, r, 1, w);
    boxLine(b, a, h, w, r, w, 1);
  }
  return a;
}

/** Running-sum box filter along lines: `n` samples per line spaced `step`, lines spaced `stride`. */
function boxLine(src: Float32Array, dst: Float32Array, n: number, lines: number, r: number, step: number, stride: number): void {
  const norm = 1 / (2 * r + 1);
  for (let l = 0; l < lines; l++) {
    const base = l * stride;
    const at = (i: number): number => src[base + (i < 0 ? 0 : i >= n ? n - 1 : i) * step]!;
    let acc = 0;
    for (let i = -r; i <= r; i++) acc += at(i);
    for (let i = 0; i < n; i++) {
      dst[base + i * step] = acc * norm;
      acc += at(i + r + 1) - at(i - r);
    }
  }
}
