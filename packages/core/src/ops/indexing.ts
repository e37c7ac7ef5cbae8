/** Gather/scatter and index selection. */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** torch.gather. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  return notImplemented('gather');
}
/** torch.scatter (out-of-place): src values written at index along dim. */
export function scatter(x: Tensor, dim: number, index: Tensor, src: Tensor | number): Tensor {
  return notImplemented('scatter');
}
/** torch.scatter_add (out-of-place). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  return notImplemented('scatterAdd');
}
/** torch.index_select: rows of dim picked by a 1-D int index. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  return notImplemented('indexSelect');
}
