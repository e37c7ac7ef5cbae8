/**
 * Moving tensor data to host memory and back. Collectives run on host arrays (MPI reads and
 * writes memory), so a tensor on any backend is read to the host, reduced, and written back.
 * Device-direct collectives are NCCL's job, later.
 */
import { type Tensor, keep, noGrad, tensor } from '@ghostflow/core';
import type { HostArray } from './addon.js';

/**
 * A fresh host copy of `t`'s elements, read synchronously when the backend can (backend-cpu):
 * then a collective can be started in the same tick, e.g. inside a gradient hook while backward
 * is still running. Null on backends that can only read asynchronously.
 */
export function readHostSync(t: Tensor): HostArray | null {
  return t.backend.readSync ? (t.dataSync() as HostArray) : null;
}

/** A fresh host copy of `t`'s elements (synchronous read where possible). */
export async function readHost(t: Tensor): Promise<HostArray> {
  return readHostSync(t) ?? ((await t.data()) as HostArray);
}

/** A new leaf tensor on `like`'s backend holding `values` with `like`'s shape and dtype. */
export function fromHost(values: HostArray, like: { shape: readonly number[]; dtype: Tensor['dtype']; device: string }): Tensor {
  return noGrad(() => keep(tensor(values, { shape: [...like.shape], dtype: like.dtype, device: like.device })));
}

/**
 * Writes `values` into `target` in place: the tensor object stays the same, so modules and
 * optimizers that hold it see the result. The one place collectives write back; it becomes a
 * single in-place copy once core has one. `target` must be a leaf (parameters, buffers, `.grad`,
 * user tensors outside a graph).
 */
export function writeBack(target: Tensor, values: HostArray): void {
  const value = fromHost(values, target);
  noGrad(() => target.assign(value));
  value.dispose();
}
