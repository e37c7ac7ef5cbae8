/** Reductions over dims, with keepdim, PyTorch semantics. */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** Dims to reduce: one, several, or all (undefined). */
export type Dims = number | readonly number[] | undefined;
/** Values and int32 indices, as max/min along a dim return. */
export interface ValuesIndices {
  /** The extreme values. */
  values: Tensor;
  /** Their positions along the dim (int32). */
  indices: Tensor;
}
/** Sum (bool/int32 sum to int32). */
export function sum(x: Tensor, dim?: Dims, keepdim?: boolean): Tensor {
  return notImplemented('sum');
}
/** Mean (float only). */
export function mean(x: Tensor, dim?: Dims, keepdim?: boolean): Tensor {
  return notImplemented('mean');
}
/** Product. */
export function prod(x: Tensor, dim?: Dims, keepdim?: boolean): Tensor {
  return notImplemented('prod');
}
/** Max over dims (values only; gradient split evenly among ties, like torch.amax). */
export function amax(x: Tensor, dim?: Dims, keepdim?: boolean): Tensor {
  return notImplemented('amax');
}
/** Min over dims (values only). */
export function amin(x: Tensor, dim?: Dims, keepdim?: boolean): Tensor {
  return notImplemented('amin');
}
/** Max of all elements, or along one dim with indices (torch.max semantics). */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number, keepdim?: boolean): Tensor | ValuesIndices {
  return notImplemented('max');
}
/** Min of all elements, or along one dim with indices. */
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number, keepdim?: boolean): Tensor | ValuesIndices {
  return notImplemented('min');
}
/** Index of the max (over the flattened tensor when dim is undefined). int32. */
export function argmax(x: Tensor, dim?: number, keepdim?: boolean): Tensor {
  return notImplemented('argmax');
}
/** Index of the min. int32. */
export function argmin(x: Tensor, dim?: number, keepdim?: boolean): Tensor {
  return notImplemented('argmin');
}
/** Options for variance and std. */
export interface VarianceOptions {
  /** Dims to reduce (all when undefined). */
  dim?: Dims;
  /** Bessel correction: 1 (default, unbiased) or 0. */
  correction?: number;
  /** Keep reduced dims as size 1. */
  keepdim?: boolean;
}
/** Variance (`torch.var`). */
export function variance(x: Tensor, options?: VarianceOptions): Tensor {
  return notImplemented('variance');
}
/** Standard deviation (`torch.std`). */
export function std(x: Tensor, options?: VarianceOptions): Tensor {
  return notImplemented('std');
}
/** log(sum(exp(x))) computed stably. */
export function logsumexp(x: Tensor, dim: Dims, keepdim?: boolean): Tensor {
  return notImplemented('logsumexp');
}
/** Whether any element is true (non-zero). bool. */
export function any(x: Tensor, dim?: Dims, keepdim?: boolean): Tensor {
  return notImplemented('any');
}
/** Whether all elements are true (non-zero). bool. */
export function all(x: Tensor, dim?: Dims, keepdim?: boolean): Tensor {
  return notImplemented('all');
}
