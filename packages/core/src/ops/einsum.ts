/** Einstein summation for common patterns. */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** einsum('bij,bjk->bik', a, b) and friends. */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  return notImplemented('einsum');
}
