/** Cumulative sums. */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** torch.cumsum. */
export function cumsum(x: Tensor, dim: number): Tensor {
  return notImplemented('cumsum');
}
