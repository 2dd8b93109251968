/**
 * Index arithmetic that turns convolution gradients into forward convolutions.
 * Pure functions of shapes, so they are table-tested without tfjs.
 */

/**
 * How to lay the input along one spatial axis so that a stride-`dilation`,
 * dilation-`stride` forward convolution with the output gradient as its filter
 * yields exactly the `kernel` taps of the filter gradient.
 *
 * The filter gradient is dW[i] = sum_y x[y*stride + i*dilation - padBefore] * dy[y].
 * Read as a forward convolution of x (the "input") with dy (the "filter"), the
 * filter's taps are `stride` apart and its output samples `dilation` apart. It
 * needs (kernel-1)*dilation + (outLen-1)*stride + 1 input samples counted from
 * the first padded one; whatever the input has beyond that is cut off (a
 * 'valid' or strided layer can leave trailing rows unused), whatever it lacks is
 * zero padding.
 */
export interface FilterGradAxis {
  /** Zeros added before the input. */
  readonly padBefore: number;
  /** Zeros added after the input. */
  readonly padAfter: number;
  /** Input samples kept (from the start); the rest are never read by the layer. */
  readonly keep: number;
}

/** See {@link FilterGradAxis}. Returns null when the layout is degenerate (padding alone covers every tap). */
export function filterGradAxis(
  inLen: number,
  padBefore: number,
  outLen: number,
  stride: number,
  kernel: number,
  dilation: number,
): FilterGradAxis | null {
  const needed = (kernel - 1) * dilation + (outLen - 1) * stride + 1;
  const after = needed - padBefore - inLen;
  if (after >= 0) return { padBefore, padAfter: after, keep: inLen };
  const keep = inLen + after;
  if (keep <= 0) return null;
  return { padBefore, padAfter: 0, keep };
}

/**
 * Layout along one axis of the input gradient computed as a stride-1
 * correlation of a zero-stuffed, padded output gradient P with the flipped
 * filter: dx[h] = sum_i' P[h + i'*dilation] * W[kernel-1-i'], where
 * P[p] = dy[(p - offset) / stride] when (p - offset) is a non-negative multiple
 * of `stride` below outLen*stride, else 0. P has `length` samples.
 */
export interface InputGradAxis {
  readonly offset: number;
  readonly length: number;
}

/** See {@link InputGradAxis}. */
export function inputGradAxis(inLen: number, padBefore: number, kernel: number, dilation: number): InputGradAxis {
  return { offset: (kernel - 1) * dilation - padBefore, length: inLen + (kernel - 1) * dilation };
}
