/**
 * DeepLab v3+ (Chen et al. 2018) on a MobileNetV2 backbone: atrous backbone
 * at output stride 16 (or 8), ASPP with rates 6/12/18 (doubled at stride 8)
 * plus image pooling, a decoder that fuses 48-channel stride-4 features, and
 * bilinear upsampling to the input size. ASPP and decoder use depthwise-
 * separable convs as the paper does; it also keeps the model cheap on CPUs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { makeDivisible, type ModelConfig } from './config.ts';
import { conv, depthwise, norm, resize, type Net, type NormActivation } from './layers.ts';

/** MobileNetV2's inverted-residual settings: expansion t, channels c, repeats n, stride s. */
const BLOCKS: [t: number, c: number, n: number, s: number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

function convNormAct(net: Net, name: string, x: tf.Tensor4D, k: number, cout: number, act: NormActivation, o: { stride?: number; rate?: number } = {}): tf.Tensor4D {
  return norm(net, `${name}/norm`, conv(net, name, x, k, cout, o), act);
}

/** Depthwise-separable conv: atrous depthwise + norm + relu, 1x1 + norm + relu. */
function sepConv(net: Net, name: string, x: tf.Tensor4D, cout: number, rate: number): tf.Tensor4D {
  const d = norm(net, `${name}/dw/norm`, depthwise(net, `${name}/dw`, x, 3, { rate }), 'relu');
  return convNormAct(net, `${name}/pw`, d, 1, cout, 'relu');
}

/** A trunk conv + activation: with a norm, or with the norm folded into a bias (`trunk: folded`). */
function trunkConv(net: Net, folded: boolean, name: string, x: tf.Tensor4D, k: number, cout: number, act: NormActivation, o: { stride?: number } = {}): tf.Tensor4D {
  return folded ? conv(net, name, x, k, cout, { ...o, bias: true, act }) : norm(net, `${name}/norm`, conv(net, name, x, k, cout, o), act);
}

function trunkDepthwise(net: Net, folded: boolean, name: string, x: tf.Tensor4D, stride: number, rate: number, act: NormActivation): tf.Tensor4D {
  return folded ? depthwise(net, name, x, 3, { stride, rate, bias: true, act }) : norm(net, `${name}/norm`, depthwise(net, name, x, 3, { stride, rate }), act);
}

function invertedResidual(net: Net, folded: boolean, name: string, x: tf.Tensor4D, t: number, cout: number, stride: number, rate: number): tf.Tensor4D {
  const cin = x.shape[3];
  let h = x;
  if (t !== 1) h = trunkConv(net, folded, `${name}/expand`, h, 1, cin * t, 'relu6');
  h = trunkDepthwise(net, folded, `${name}/dw`, h, stride, rate, 'relu6');
  h = trunkConv(net, folded, `${name}/project`, h, 1, cout, 'linear');
  return stride === 1 && cin === cout ? tf.add(x, h) : h;
}

/**
 * Backbone: returns stride-4 low-level features and the atrous high-level
 * features. `onBlock` sees each block's output (the loader's reference test).
 */
export function mobilenetV2(net: Net, cfg: ModelConfig, x: tf.Tensor4D, onBlock?: (id: number, h: tf.Tensor4D) => void): { fine: tf.Tensor4D; low: tf.Tensor4D; high: tf.Tensor4D } {
  const folded = cfg.trunk === 'folded';
  let h = trunkConv(net, folded, 'stem', x, 3, makeDivisible(32 * cfg.width), 'relu6', { stride: 2 });
  let current = 2;
  let rate = 1;
  let fine: tf.Tensor4D | undefined;
  let low: tf.Tensor4D | undefined;
  let id = 0;
  for (const [t, c, n, s] of BLOCKS) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      // TF-slim's rule: once the target stride is reached, strides turn
      // into atrous rates for every later layer.
      let layerStride = stride;
      let layerRate = 1;
      if (current === cfg.outputStride) {
        layerStride = 1;
        layerRate = rate;
        rate *= stride;
      } else {
        current *= stride;
      }
      h = invertedResidual(net, folded, `block${id}`, h, t, makeDivisible(c * cfg.width), layerStride, layerRate);
      onBlock?.(id, h);
      id++; // not inside the optional call above: `f?.(id++)` skips the increment when f is absent
    }
    if (c === 16) fine = h;
    if (c === 24) low = h;
  }
  if (!low || !fine) throw new Error('mobilenetV2: no stride-2 or stride-4 features');
  return { fine, low, high: h };
}

function aspp(net: Net, cfg: ModelConfig, x: tf.Tensor4D): tf.Tensor4D {
  const ch = cfg.asppChannels;
  const scale = 16 / cfg.outputStride;
  const branches = [convNormAct(net, 'aspp/b0', x, 1, ch, 'relu')];
  [6, 12, 18].forEach((r, i) => branches.push(sepConv(net, `aspp/b${i + 1}`, x, ch, r * scale)));
  // Image pooling. No normalisation here: it would normalise a 1x1 map over
  // two images (batch norm) or a few channels (group norm), both degenerate.
  const pooled = tf.mean(x, [1, 2], true) as tf.Tensor4D;
  const p = conv(net, 'aspp/pool', pooled, 1, ch, { bias: true, act: 'relu' });
  // Spread over the map by a broadcasting add, not tf.tile: tile's gradient
  // is one slice and add per output pixel (256 ops at 16x16), the add's is one sum.
  branches.push(tf.add(p, tf.zeros([x.shape[0], x.shape[1], x.shape[2], ch])));
  return convNormAct(net, 'aspp/project', tf.concat(branches, 3), 1, ch, 'relu');
}

/**
 * Logits `[N, H, W, numClasses]` at the input size. Head (classifier) layers
 * get learning-rate multipliers x10 (weights) and x20 (biases), as in the study.
 */
export function deeplabV3Plus(net: Net, cfg: ModelConfig, x: tf.Tensor4D): tf.Tensor4D {
  const [, H, W] = x.shape;
  const { fine, low, high } = mobilenetV2(net, cfg, x);
  const a = aspp(net, cfg, high);
  const lowProj = convNormAct(net, 'decoder/low', low, 1, 48, 'relu');
  let d = tf.concat([resize(a, low.shape[1], low.shape[2]), lowProj], 3);
  d = sepConv(net, 'decoder/conv0', d, cfg.decoderChannels, 1);
  d = sepConv(net, 'decoder/conv1', d, cfg.decoderChannels, 1);
  const stride = cfg.decoderStride ?? 4;
  if (stride <= 2) {
    // A second skip at stride 2 (the trunk's first block): thin objects and edges are drawn on a grid
    // twice as fine; most of the errors at 128x128 are within 2 pixels of an edge.
    const fineProj = convNormAct(net, 'decoder/fine', fine, 1, 24, 'relu');
    d = tf.concat([resize(d, fine.shape[1], fine.shape[2]), fineProj], 3);
    d = sepConv(net, 'decoder/conv2', d, Math.max(8, makeDivisible(cfg.decoderChannels / 2)), 1);
  }
  if (stride === 1) {
    // And one at full resolution from the image itself (a 3x3 conv on its pixels), where the edges are.
    const pixels = convNormAct(net, 'decoder/pixels', x, 3, 16, 'relu');
    d = tf.concat([resize(d, H, W), pixels], 3);
    d = sepConv(net, 'decoder/conv3', d, 16, 1);
  }
  const logits = conv(net, 'classifier', d, 1, cfg.numClasses, { bias: true, lrMult: 10, biasLrMult: 20, std: 0.01 });
  return resize(logits, H, W);
}
