import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { cpuConv2DBackpropFilter, cpuDepthwiseBackpropFilter } from './cpu-filter-grad.ts';
import { wasmConv2DBackpropFilter, wasmDepthwiseBackpropFilter } from './wasm-filter-grads.ts';
import { wasmConv2DBackpropInput, wasmDepthwiseBackpropInput } from './wasm-input-grads.ts';
import { wasmBatchToSpaceND, wasmSpaceToBatchND } from './wasm-space-batch.ts';
import { wasmIdentity } from './wasm-identity.ts';
import { wasmTranspose } from './wasm-transpose.ts';
import { wasmConcat, wasmSplitV } from './wasm-channels.ts';
import { wasmConv2D } from './wasm-gemm.ts';
import { wasmDepthwiseConv2d } from './wasm-depthwise.ts';
import {
  BIAS_ACT,
  BIAS_ACT_GRAD,
  GROUP_NORM,
  GROUP_NORM_GRAD,
  cpuBiasAct,
  cpuBiasActGrad,
  cpuGroupNorm,
  cpuGroupNormGrad,
  registerGroupNormGradient,
  wasmBiasAct,
  wasmBiasActGrad,
  wasmGroupNorm,
  wasmGroupNormGrad,
} from './group-norm.ts';
import {
  ACT_GRAD, CONV_BIAS_ACT, cpuActGrad, cpuConvBiasAct, markDilatedDepthwiseGradients, registerConvBiasActGradient, wasmActGrad, wasmConvBiasAct,
} from './conv-bias-act.ts';
export { biasAct, groupNormAct, type GroupNormAttrs } from './group-norm.ts';
export { convBiasAct, hasConvBiasAct, trainsDilatedDepthwise, type ConvBiasActAttrs } from './conv-bias-act.ts';
import { SGD_MOMENTUM, cpuSgdMomentum, wasmSgdMomentum } from './sgd.ts';
export { sgdMomentumStep, type SgdAttrs } from './sgd.ts';
import { ADAM, cpuAdam, wasmAdam } from './adam.ts';
import { SOFTMAX_CE, softmaxCEKernel } from './softmax-ce.ts';
export { softmaxCrossEntropy } from './softmax-ce.ts';
export { adamStep, type AdamAttrs } from './adam.ts';
export type { FusedActivation } from './group-norm-loops.ts';
export { wasmThreadingSupported } from './wasm-threads.ts';

/**
 * Registers `kernelFunc` unless it is already the registered one. Replacing a
 * kernel goes through unregisterKernel first so tfjs does not warn.
 */
function install(kernelName: string, backendName: string, kernelFunc: KernelFunc): void {
  const current: KernelConfig | undefined = getKernel(kernelName, backendName);
  if (current?.kernelFunc === kernelFunc) return;
  if (current != null) unregisterKernel(kernelName, backendName);
  registerKernel({ kernelName, backendName, kernelFunc });
}

// One function object per kernel for the whole process, so a second call finds
// its own kernel already registered and does nothing.
const wasmKernels: ReadonlyArray<readonly [string, KernelFunc]> = [
  ['Conv2DBackpropFilter', wasmConv2DBackpropFilter as unknown as KernelFunc],
  ['Conv2DBackpropInput', wasmConv2DBackpropInput as unknown as KernelFunc],
  ['DepthwiseConv2dNativeBackpropFilter', wasmDepthwiseBackpropFilter as unknown as KernelFunc],
  ['DepthwiseConv2dNativeBackpropInput', wasmDepthwiseBackpropInput as unknown as KernelFunc],
  [GROUP_NORM, wasmGroupNorm],
  [GROUP_NORM_GRAD, wasmGroupNormGrad],
  [BIAS_ACT, wasmBiasAct],
  [BIAS_ACT_GRAD, wasmBiasActGrad],
  [CONV_BIAS_ACT, wasmConvBiasAct],
  [ACT_GRAD, wasmActGrad],
  [SGD_MOMENTUM, wasmSgdMomentum],
  [ADAM, wasmAdam],
  [SOFTMAX_CE, softmaxCEKernel],
];

/**
 * Registers the gradient kernels tfjs-backend-wasm lacks (Conv2DBackpropFilter,
 * DepthwiseConv2dNativeBackpropFilter/Input) and replaces its scalar
 * Conv2DBackpropInput, all built on the backend's XNNPACK convolutions; also
 * replaces its slow 4-D SpaceToBatchND/BatchToSpaceND (atrous convolutions),
 * adds fused group norm + activation and bias + activation kernels (see
 * group-norm.ts), conv + bias + activation (conv-bias-act.ts) and the SGD
 * and Adam updates (sgd.ts, adam.ts), the loss with its gradient (softmax-ce.ts), and makes
 * Identity share data instead of copying it (wasm-identity.ts) and matrix-like
 * transposes tiled (wasm-transpose.ts), concatenates and splits channels
 * with plain loops (wasm-channels.ts), and runs 1x1 stride-1 convolutions
 * (Conv2D and the fused conv + bias + activation) as our own GEMM (wasm-gemm.ts)
 * and 3x3 depthwise convolutions as our own loop (wasm-depthwise.ts).
 * Idempotent; call any time after importing '@tensorflow/tfjs-backend-wasm'.
 */
export function registerWasmTrainingKernels(): void {
  registerGroupNormGradient();
  registerConvBiasActGradient();
  for (const [name, fn] of wasmKernels) install(name, 'wasm', fn);
  // Ours take dilations (wasmDepthwiseBackpropInput / -Filter): dilated depthwise layers train directly.
  markDilatedDepthwiseGradients('wasm');
  if (spaceBatch == null) {
    // The stock kernels stay the fallback for ranks other than 4.
    const stockS2B = (getKernel('SpaceToBatchND', 'wasm') as KernelConfig | undefined)?.kernelFunc;
    const stockB2S = (getKernel('BatchToSpaceND', 'wasm') as KernelConfig | undefined)?.kernelFunc;
    spaceBatch = [wasmSpaceToBatchND(stockS2B), wasmBatchToSpaceND(stockB2S)];
  }
  install('SpaceToBatchND', 'wasm', spaceBatch[0]);
  install('BatchToSpaceND', 'wasm', spaceBatch[1]);
  identity ??= wasmIdentity((getKernel('Identity', 'wasm') as KernelConfig | undefined)?.kernelFunc);
  install('Identity', 'wasm', identity);
  transpose ??= wasmTranspose((getKernel('Transpose', 'wasm') as KernelConfig | undefined)?.kernelFunc);
  install('Transpose', 'wasm', transpose);
  channels ??= [
    wasmConcat((getKernel('Concat', 'wasm') as KernelConfig | undefined)?.kernelFunc),
    wasmSplitV((getKernel('SplitV', 'wasm') as KernelConfig | undefined)?.kernelFunc),
  ];
  install('Concat', 'wasm', channels[0]);
  install('SplitV', 'wasm', channels[1]);
  conv2d ??= wasmConv2D((getKernel('Conv2D', 'wasm') as KernelConfig | undefined)?.kernelFunc);
  install('Conv2D', 'wasm', conv2d);
  depthwise ??= wasmDepthwiseConv2d((getKernel('DepthwiseConv2dNative', 'wasm') as KernelConfig | undefined)?.kernelFunc);
  install('DepthwiseConv2dNative', 'wasm', depthwise);
}

let spaceBatch: [KernelFunc, KernelFunc] | undefined;
let identity: KernelFunc | undefined;
let transpose: KernelFunc | undefined;
let channels: [KernelFunc, KernelFunc] | undefined;
let conv2d: KernelFunc | undefined;
let depthwise: KernelFunc | undefined;

let cpuKernels: [KernelFunc, KernelFunc] | undefined;

/**
 * Registers fast Conv2DBackpropFilter and DepthwiseConv2dNativeBackpropFilter
 * kernels for the plain CPU backend (the stock ones are most of a CPU training
 * step), and the fused group norm, bias + activation, conv + bias + activation, SGD and Adam kernels and the loss. Idempotent; call after importing
 * '@tensorflow/tfjs-backend-cpu'.
 */
export function registerFastCpuKernels(): void {
  if (cpuKernels == null) {
    const stock = getKernel('Conv2DBackpropFilter', 'cpu') as KernelConfig | undefined;
    cpuKernels = [
      cpuConv2DBackpropFilter(stock?.kernelFunc) as unknown as KernelFunc,
      cpuDepthwiseBackpropFilter() as unknown as KernelFunc,
    ];
  }
  install('Conv2DBackpropFilter', 'cpu', cpuKernels[0]);
  install('DepthwiseConv2dNativeBackpropFilter', 'cpu', cpuKernels[1]);
  install(GROUP_NORM, 'cpu', cpuGroupNorm);
  install(GROUP_NORM_GRAD, 'cpu', cpuGroupNormGrad);
  install(BIAS_ACT, 'cpu', cpuBiasAct);
  install(BIAS_ACT_GRAD, 'cpu', cpuBiasActGrad);
  install(CONV_BIAS_ACT, 'cpu', cpuConvBiasAct);
  install(ACT_GRAD, 'cpu', cpuActGrad);
  install(SGD_MOMENTUM, 'cpu', cpuSgdMomentum);
  install(ADAM, 'cpu', cpuAdam);
  install(SOFTMAX_CE, 'cpu', softmaxCEKernel);
  registerGroupNormGradient();
  registerConvBiasActGradient();
}
