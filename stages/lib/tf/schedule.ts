/**
 * Learning-rate schedule of the study (DeepLab's "poly"):
 * lr(step) = base * (1 - step / steps) ^ power, with step counted from 0.
 */
export function polyLearningRate(base: number, step: number, steps: number, power = 0.9): number {
  if (steps <= 0) return base;
  const frac = Math.min(Math.max(step / steps, 0), 1);
  return base * Math.pow(1 - frac, power);
}
