/**
 * Atrous (dilated) convolution that can be trained. tfjs-core refuses the
 * gradient of conv2d / depthwiseConv2d for dilation rates above 1, so, as
 * tfjs's own `pool` does, a dilated conv is written as
 * spaceToBatchND -> ordinary 'valid' conv -> batchToSpaceND: each of the
 * rate x rate phase sub-images is convolved densely, and all three ops have
 * gradients on every backend. Stride is always 1 ('same' padding, as DeepLab
 * uses atrous convs).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * A stride-1 convolution (plain, depthwise, or fused with a bias and
 * activation). `rate`, when given, is a dilation the backend's forward
 * kernel applies itself: no gradient is recorded then (see {@link atrous}).
 */
export type Conv = (x: tf.Tensor4D, f: tf.Tensor4D, pad: 'same' | 'valid', rate?: number) => tf.Tensor4D;

/**
 * `conv` at dilation `rate`, 'same' padding. Anything per channel and per
 * element that `conv` applies after the convolution (bias, activation) is
 * unaffected by the batchToSpace that follows (it only moves and crops).
 *
 * When no gradient is being recorded (inference, evaluation), the
 * convolution runs dilated in one kernel instead (XNNPACK and tfjs's CPU
 * kernels take dilations in the forward pass): the same sums without the
 * space-to-batch copies and the padded phase images, about 3% of an inference
 * pass of the production model. So it does in training when
 * `dilatedGradient` says `conv` has a gradient at any rate (our depthwise
 * kernels on wasm: tf-kernels' trainsDilatedDepthwise).
 */
export function atrous(x: tf.Tensor4D, filter: tf.Tensor4D, rate: number, conv: Conv, dilatedGradient = false): tf.Tensor4D {
  if (!Number.isInteger(rate) || rate < 1) throw new Error(`atrous rate must be a positive integer, got ${rate}`);
  if (rate === 1) return conv(x, filter, 'same');
  const [, H, W] = x.shape;
  const [kh, kw] = filter.shape;
  // When every off-centre tap falls into the zero padding, the result is
  // exactly a 1x1 conv with the centre tap (DeepLab's large ASPP rates on
  // small feature maps hit this); skip the padded work.
  if (kh % 2 === 1 && kw % 2 === 1 && rate >= H && rate >= W) {
    const centre = tf.slice(filter, [(kh - 1) / 2, (kw - 1) / 2, 0, 0], [1, 1, -1, -1]);
    return conv(x, centre, 'valid');
  }
  if (!tf.engine().isTapeOn() || dilatedGradient) return conv(x, filter, 'same', rate);
  // 'same' padding of the dilated kernel, split as TensorFlow does (extra at
  // the end), plus enough to make each dimension divisible by the rate.
  const totalH = (kh - 1) * rate;
  const totalW = (kw - 1) * rate;
  const top = Math.floor(totalH / 2);
  const left = Math.floor(totalW / 2);
  const extraH = (rate - ((H + totalH) % rate)) % rate;
  const extraW = (rate - ((W + totalW) % rate)) % rate;
  return tf.tidy(() => {
    const s2b = tf.spaceToBatchND(x, [rate, rate], [
      [top, totalH - top + extraH],
      [left, totalW - left + extraW],
    ]) as tf.Tensor4D;
    const y = conv(s2b, filter, 'valid');
    return tf.batchToSpaceND(y, [rate, rate], [
      [0, extraH],
      [0, extraW],
    ]) as tf.Tensor4D;
  });
}

/** 'same' conv2d, stride 1, dilation `rate`, differentiable. filter `[kh, kw, cin, cout]`. */
export function atrousConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, rate: number): tf.Tensor4D {
  return atrous(x, filter, rate, (a, f, pad, r = 1) => tf.conv2d(a, f, 1, pad, 'NHWC', r));
}

/** 'same' depthwise conv, stride 1, dilation `rate`, differentiable. filter `[kh, kw, cin, multiplier]`. */
export function atrousDepthwiseConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, rate: number): tf.Tensor4D {
  return atrous(x, filter, rate, (a, f, pad, r = 1) => tf.depthwiseConv2d(a, f, 1, pad, 'NHWC', r));
}
