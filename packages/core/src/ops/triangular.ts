/** Lower and upper triangles of matrices. */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** torch.tril. */
export function tril(x: Tensor, diagonal?: number): Tensor {
  return notImplemented('tril');
}
/** torch.triu. */
export function triu(x: Tensor, diagonal?: number): Tensor {
  return notImplemented('triu');
}
