/** Matrix products: matmul with torch.matmul's rank rules, and linear. */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** torch.matmul: 1-D/2-D/batched, batch dims broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return notImplemented('matmul');
}
/** x @ weight^T + bias (fused kernel when available). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return notImplemented('linear');
}
