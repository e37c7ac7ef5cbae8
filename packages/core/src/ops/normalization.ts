/** Layer normalisation (fused kernel when available). */
import type { Tensor } from '../tensor/tensor.js';
import { notImplemented } from './pending.js';

/** torch.nn.functional.layer_norm. */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps?: number): Tensor {
  return notImplemented('layerNorm');
}
