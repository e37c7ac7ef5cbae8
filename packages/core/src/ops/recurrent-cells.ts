/** Pointwise recurrent cell steps (fused kernel when available). */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** LSTM pointwise step on gate sums [B,4H] (i,f,g,o) and cell [B,H]: returns [h, c]. */
export function lstmCellStep(gates: Tensor, c: Tensor): [Tensor, Tensor] {
  return notImplemented('lstmCellStep');
}
/** GRU pointwise step on gi, gh [B,3H] (r,z,n) and h [B,H]: returns h'. */
export function gruCellStep(gi: Tensor, gh: Tensor, h: Tensor): Tensor {
  return notImplemented('gruCellStep');
}
