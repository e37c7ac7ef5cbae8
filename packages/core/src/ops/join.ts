/** Joining and splitting tensors. */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** Concatenates along dim (torch.cat). */
export function cat(tensors: readonly Tensor[], dim?: number): Tensor {
  return notImplemented('cat');
}
/** Stacks along a new dim. */
export function stack(tensors: readonly Tensor[], dim?: number): Tensor {
  return notImplemented('stack');
}
/** Splits into pieces of `size` (or the given sizes) along dim; views. */
export function split(x: Tensor, sizeOrSizes: number | readonly number[], dim?: number): Tensor[] {
  return notImplemented('split');
}
/** Splits into `chunks` nearly equal pieces along dim (torch.chunk). */
export function chunk(x: Tensor, chunks: number, dim?: number): Tensor[] {
  return notImplemented('chunk');
}
/** Removes dim, returning its slices (torch.unbind). */
export function unbind(x: Tensor, dim?: number): Tensor[] {
  return notImplemented('unbind');
}
