/** Moving tensors between backends. */
import { loadBackend } from '../backend/registry.js';
import { GhostFlowError } from '../errors.js';
import { uploadTensor } from './make.js';
import type { Tensor } from './tensor.js';

/**
 * Copies `x` to the backend named `device`; returns `x` itself when it is already there.
 * The copy is a new leaf with `x.requiresGrad`; a tensor inside a graph must be detached
 * first, because gradients cannot flow back across an asynchronous copy.
 */
export async function transferTo(x: Tensor, device: string): Promise<Tensor> {
  x.assertAlive();
  const target = await loadBackend(device);
  if (target === x.backend) return x;
  if (!x.isLeaf) {
    throw new GhostFlowError(
      `to('${device}'): tensor has gradFn '${x.gradFn}'; gradients do not flow across backends, call detach() first`,
    );
  }
  const values = await x.data();
  const out = uploadTensor(target, values, x.shape, x.dtype);
  if (x.requiresGrad) out.requiresGrad = true;
  return out;
}
