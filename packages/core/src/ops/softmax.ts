/** Softmax and log-softmax (fused kernel when the backend has one). */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** exp(x) / sum(exp(x)) along dim. */
export function softmax(x: Tensor, dim: number): Tensor {
  return notImplemented('softmax');
}
/** log(softmax(x)) along dim, computed stably. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return notImplemented('logSoftmax');
}
