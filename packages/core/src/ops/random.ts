/** Random tensors from core's seedable generator: identical numbers on every backend. */
import type { Tensor } from '../tensor/tensor.js';
import type { CreationOptions } from './creation.js';
import { notImplemented } from './pending.js';

/** Reseeds the global generator. */
export function manualSeed(seed: number): void {
  notImplemented('manualSeed');
}
/** Uniform [0, 1). */
export function rand(shape: readonly number[], options?: CreationOptions): Tensor {
  return notImplemented('rand');
}
/** Standard normal. */
export function randn(shape: readonly number[], options?: CreationOptions): Tensor {
  return notImplemented('randn');
}
/** Integers uniform in [low, high); int32 unless options.dtype says otherwise. */
export function randint(low: number, high: number, shape: readonly number[], options?: CreationOptions): Tensor {
  return notImplemented('randint');
}
/** 1 with probability p (a number or a float tensor of probabilities), else 0; float32. */
export function bernoulli(p: Tensor | number, shape?: readonly number[], options?: CreationOptions): Tensor {
  return notImplemented('bernoulli');
}
/** Uniform [0, 1) like `x`. */
export function randLike(x: Tensor, options?: CreationOptions): Tensor {
  return notImplemented('randLike');
}
/** Standard normal like `x`. */
export function randnLike(x: Tensor, options?: CreationOptions): Tensor {
  return notImplemented('randnLike');
}
