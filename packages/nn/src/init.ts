/**
 * Parameter initialisation as PyTorch's `nn.init`, drawing from core's seedable generator
 * (`manualSeed`). Each function returns a new tensor; layers register it as a parameter.
 */
import { type Tensor, rand, randn, zeros, ones, GhostFlowError } from '@ghostflow/core';

/** Where to create the tensor. */
export interface InitOptions {
  /** Backend name; default the active backend. */
  device?: string;
}

/** U(low, high). */
export function uniform(shape: readonly number[], low: number, high: number, options: InitOptions = {}): Tensor {
  const u = rand(shape, options);
  const out = u.mul(high - low).add(low);
  u.dispose();
  return out;
}

/** N(mean, std²). */
export function normal(shape: readonly number[], mean = 0, std = 1, options: InitOptions = {}): Tensor {
  const n = randn(shape, options);
  const out = n.mul(std).add(mean);
  n.dispose();
  return out;
}

/** All zeros. */
export function zerosInit(shape: readonly number[], options: InitOptions = {}): Tensor {
  return zeros(shape, options);
}

/** All ones. */
export function onesInit(shape: readonly number[], options: InitOptions = {}): Tensor {
  return ones(shape, options);
}

/** PyTorch's `_calculate_fan_in_and_fan_out` for a weight of `shape`. */
export function fanInOut(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new GhostFlowError(`fan in/out needs a weight with at least 2 dims, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/**
 * Kaiming-uniform with PyTorch's defaults for Linear/Conv weights (`a = sqrt(5)`, fan_in,
 * leaky_relu gain): U(-b, b) with b = gain * sqrt(3 / fanIn).
 */
export function kaimingUniform(shape: readonly number[], a = Math.sqrt(5), options: InitOptions = {}): Tensor {
  const { fanIn } = fanInOut(shape);
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fanIn);
  return uniform(shape, -bound, bound, options);
}

/** Xavier/Glorot uniform: U(-b, b), b = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(shape: readonly number[], gain = 1, options: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = fanInOut(shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, -bound, bound, options);
}
