/**
 * Parameter initialisation as PyTorch's `nn.init`, drawing from core's seedable generator
 * (`manualSeed`).
 *
 * The trailing-underscore functions (`uniform_`, `kaimingUniform_`, ...) are PyTorch's: they
 * write into an existing tensor in place, under `noGrad` (so parameters that require grad
 * can be re-initialised), and return it; views of the tensor see the new values. The plain
 * forms (`uniform(shape, ...)`) create a new tensor the same way, which is what layers use
 * when they build their parameters.
 */
import { GhostFlowError, type Tensor, noGrad, zeros } from '@ghostflow/core';

/** Where to create the tensor. */
export interface InitOptions {
  /** Backend name; default the active backend. */
  device?: string;
}

/** PyTorch's `_calculate_fan_in_and_fan_out` for a weight of `shape`. */
export function fanInOut(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new GhostFlowError(`fan in/out needs a weight with at least 2 dims, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** In place U(low, high) (`nn.init.uniform_`). Returns `t`. */
export function uniform_(t: Tensor, low = 0, high = 1): Tensor {
  return noGrad(() => t.uniform_(low, high));
}

/** In place N(mean, std²) (`nn.init.normal_`). Returns `t`. */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => t.normal_(mean, std));
}

/** In place constant `value` (`nn.init.constant_`). Returns `t`. */
export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

/** In place zeros (`nn.init.zeros_`). Returns `t`. */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/** In place ones (`nn.init.ones_`). Returns `t`. */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** The bound of Kaiming-uniform: `gain * sqrt(3 / fanIn)`, leaky_relu gain with slope `a`. */
function kaimingBound(shape: readonly number[], a: number): number {
  const { fanIn } = fanInOut(shape);
  return Math.sqrt(2 / (1 + a * a)) * Math.sqrt(3 / fanIn);
}

/** The bound of Xavier-uniform: `gain * sqrt(6 / (fanIn + fanOut))`. */
function xavierBound(shape: readonly number[], gain: number): number {
  const { fanIn, fanOut } = fanInOut(shape);
  return gain * Math.sqrt(6 / (fanIn + fanOut));
}

/**
 * In place Kaiming-uniform with PyTorch's defaults for Linear/Conv weights (`a = sqrt(5)`,
 * fan_in, leaky_relu gain): U(-b, b) with b = gain * sqrt(3 / fanIn)
 * (`nn.init.kaiming_uniform_`). Returns `t`.
 */
export function kaimingUniform_(t: Tensor, a = Math.sqrt(5)): Tensor {
  const bound = kaimingBound(t.shape, a);
  return uniform_(t, -bound, bound);
}

/** In place Xavier/Glorot uniform: U(-b, b), b = gain * sqrt(6 / (fanIn + fanOut)). Returns `t`. */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const bound = xavierBound(t.shape, gain);
  return uniform_(t, -bound, bound);
}

/** A new float32 tensor of `shape` filled in place by `fill`. */
function created(shape: readonly number[], options: InitOptions, fill: (t: Tensor) => Tensor): Tensor {
  const t = zeros(shape, options);
  try {
    return fill(t);
  } catch (e) {
    t.dispose();
    throw e;
  }
}

/** A new tensor U(low, high). */
export function uniform(shape: readonly number[], low: number, high: number, options: InitOptions = {}): Tensor {
  return created(shape, options, (t) => uniform_(t, low, high));
}

/** A new tensor N(mean, std²). */
export function normal(shape: readonly number[], mean = 0, std = 1, options: InitOptions = {}): Tensor {
  return created(shape, options, (t) => normal_(t, mean, std));
}

/** A new tensor of zeros. */
export function zerosInit(shape: readonly number[], options: InitOptions = {}): Tensor {
  return zeros(shape, options);
}

/** A new tensor of ones. */
export function onesInit(shape: readonly number[], options: InitOptions = {}): Tensor {
  return created(shape, options, ones_);
}

/** A new Kaiming-uniform tensor (see {@link kaimingUniform_}). */
export function kaimingUniform(shape: readonly number[], a = Math.sqrt(5), options: InitOptions = {}): Tensor {
  return created(shape, options, (t) => kaimingUniform_(t, a));
}

/** A new Xavier/Glorot-uniform tensor (see {@link xavierUniform_}). */
export function xavierUniform(shape: readonly number[], gain = 1, options: InitOptions = {}): Tensor {
  return created(shape, options, (t) => xavierUniform_(t, gain));
}
