/** Creating tensors from values and from shapes. */
import type { DType } from '../dtype.js';
import type { Tensor, NestedArray } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** Where and how to create a tensor. */
export interface CreationOptions {
  /** Element type; default float32 (bool for boolean input, the array's type for typed arrays). */
  dtype?: DType;
  /** Backend name; default the active backend. */
  device?: string;
  /** Make the new tensor a leaf that requires grad. */
  requiresGrad?: boolean;
}

/** `tensor` options: also a shape, to give a flat array one. */
export interface TensorOptions extends CreationOptions {
  /** Shape for flat data (default: inferred from nesting, or [length] for a typed array). */
  shape?: readonly number[];
}

/** A tensor from nested arrays, a typed array, or a number (0-d). */
export function tensor(values: NestedArray<number | boolean> | ArrayLike<number> | Float32Array | Int32Array | Uint8Array, options?: TensorOptions): Tensor {
  return notImplemented('tensor');
}
/** A 0-d tensor. */
export function scalar(value: number | boolean, options?: CreationOptions): Tensor {
  return notImplemented('scalar');
}
/** Zeros of `shape`. */
export function zeros(shape: readonly number[], options?: CreationOptions): Tensor {
  return notImplemented('zeros');
}
/** Ones of `shape`. */
export function ones(shape: readonly number[], options?: CreationOptions): Tensor {
  return notImplemented('ones');
}
/** `shape` filled with `value`. */
export function full(shape: readonly number[], value: number | boolean, options?: CreationOptions): Tensor {
  return notImplemented('full');
}
/** `[start, end)` by `step` (`arange(end)` starts at 0). Default dtype float32. */
export function arange(start: number, end?: number, step?: number, options?: CreationOptions): Tensor {
  return notImplemented('arange');
}
/** `steps` evenly spaced values from `start` to `end` inclusive. */
export function linspace(start: number, end: number, steps: number, options?: CreationOptions): Tensor {
  return notImplemented('linspace');
}
/** `n x m` identity matrix (m defaults to n). */
export function eye(n: number, m?: number, options?: CreationOptions): Tensor {
  return notImplemented('eye');
}
/** Zeros with `x`'s shape, dtype and device (overridable). */
export function zerosLike(x: Tensor, options?: CreationOptions): Tensor {
  return notImplemented('zerosLike');
}
/** Ones with `x`'s shape, dtype and device (overridable). */
export function onesLike(x: Tensor, options?: CreationOptions): Tensor {
  return notImplemented('onesLike');
}
/** `value` with `x`'s shape, dtype and device (overridable). */
export function fullLike(x: Tensor, value: number | boolean, options?: CreationOptions): Tensor {
  return notImplemented('fullLike');
}
