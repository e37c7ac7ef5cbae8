/** torch.nn.functional.pad. */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** Pads the last dims: `padding` = [lastLeft, lastRight, prevLeft, prevRight, ...]. */
export function pad(x: Tensor, padding: readonly number[], mode?: 'constant' | 'reflect' | 'replicate', value?: number): Tensor {
  return notImplemented('pad');
}
