/** One-hot encoding. */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** torch.nn.functional.one_hot: int indices → int32 [..., numClasses]. */
export function oneHot(indices: Tensor, numClasses?: number): Tensor {
  return notImplemented('oneHot');
}
