/**
 * The model the `train` stage builds from its params, and which of its layers
 * it trains: shared with the benchmarks (bench/prod-model.ts), so they measure
 * what the stage runs. Cheap to import (no tfjs).
 */
import type { ModelConfig, SegModel } from '../lib/tf/models/index.ts';
import type { TrainParams } from './params.ts';

/** The model to build. `trunkWidth`: the pretrained trunk's width, when there is one. */
export function modelConfig(p: TrainParams, numClasses: number, trunkWidth?: number): ModelConfig {
  const pretrained = p.model === 'deeplabv3plus' && p.backbone !== 'scratch';
  return {
    arch: p.model,
    numClasses,
    width: p.width ?? trunkWidth ?? (pretrained ? 1 : 0.5),
    outputStride: p.model === 'largefov' ? 8 : p.outputStride,
    norm: p.norm,
    asppChannels: p.asppChannels,
    decoderChannels: p.decoderChannels,
    ...(p.model === 'deeplabv3plus' && p.decoderStride !== 4 ? { decoderStride: p.decoderStride } : {}),
    ...(p.model === 'deeplabv3plus' ? { trunk: pretrained ? ('folded' as const) : ('norm' as const) } : {}),
  };
}

/**
 * Freezes the stem and the first `blocks` trunk blocks: they get no gradient, so the backward pass
 * stops at the first trainable layer. Only meaningful for a pretrained trunk (checked by the caller).
 */
export function freezeTrunk(model: SegModel, blocks: number): number {
  let n = 0;
  for (const [name, info] of model.store.params) {
    const m = /^(stem|block(\d+))\//.exec(name);
    const frozen = m !== null && (m[1] === 'stem' || Number(m[2]) < blocks);
    info.trainable = !frozen;
    if (frozen) n++;
  }
  return n;
}

