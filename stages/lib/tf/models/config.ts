/**
 * What it takes to rebuild a segmentation model: saved in model.json so a
 * model folder is self-describing (evaluate and `init:` need nothing else).
 */

/** Normalisation after each conv: see layers.ts for why group norm is the default. */
export type NormKind = 'group' | 'batch';
/**
 * How the MobileNetV2 trunk normalises: `norm` = the model's `norm` after every conv (training from
 * scratch); `folded` = every trunk conv carries a bias and no norm layer, i.e. batch norm with frozen
 * statistics folded into the conv (what a pretrained trunk is loaded as, see pretrained/).
 */
export type TrunkKind = 'norm' | 'folded';
export type Arch = 'deeplabv3plus' | 'largefov';

export interface ModelConfig {
  arch: Arch;
  numClasses: number;
  /** Channel width multiplier (MobileNetV2's alpha; scales VGG's channels for LargeFOV). */
  width: number;
  /** 16 or 8 for DeepLab v3+; LargeFOV is always 8. */
  outputStride: 8 | 16;
  norm: NormKind;
  /** ASPP channels (256 in DeepLab v3+). */
  asppChannels: number;
  /**
   * Stride of the decoder's output: 4 (DeepLab v3+), 2 with a second skip from the trunk's stride-2
   * features, 1 with a third from a conv on the image. Absent = 4.
   */
  decoderStride?: 4 | 2 | 1;
  /** Decoder channels (256 in DeepLab v3+); the low-level projection is 48 as in the paper. */
  decoderChannels: number;
  /** DeepLab v3+ only; absent in models saved before it existed = `norm`. */
  trunk?: TrunkKind;
}

/** Rounds channels as MobileNetV2 does: to a multiple of 8, never below 90% of the request. */
export function makeDivisible(v: number, divisor = 8): number {
  const n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return n < 0.9 * v ? n + divisor : n;
}

/** Checks combinations the code cannot build; returns a message or undefined. */
export function configProblem(c: ModelConfig): string | undefined {
  if (!(c.numClasses >= 2)) return `numClasses must be at least 2, got ${c.numClasses}`;
  if (!(c.width > 0)) return `width must be positive, got ${c.width}`;
  if (c.arch === 'largefov' && c.outputStride !== 8) return `largefov has output stride 8 (DeepLab v1); got ${c.outputStride}`;
  if (c.outputStride !== 8 && c.outputStride !== 16) return `outputStride must be 8 or 16, got ${c.outputStride}`;
  return undefined;
}
