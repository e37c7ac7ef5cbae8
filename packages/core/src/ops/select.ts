/** Choosing between values elementwise: where, clamp, maskedFill. */
import type { Tensor } from '../tensor/tensor.js';
import type { TensorLike } from './binary.js';
import { notImplemented } from './pending.js';

/** cond ? a : b, broadcasting all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  return notImplemented('where');
}
/** Limits values to [min, max] (either may be omitted/null; tensors broadcast). */
export function clamp(x: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
  return notImplemented('clamp');
}
/** `value` where `mask` is true, else x (mask broadcasts to x). */
export function maskedFill(x: Tensor, mask: Tensor, value: number | Tensor): Tensor {
  return notImplemented('maskedFill');
}
