/**
 * @ghostflow/distributed: data-parallel training across processes and machines on MPI.
 * `initProcessGroup` joins the job; collectives (`allReduce`, `broadcast`, `allGather`,
 * `reduceScatter`, `barrier`) run on tensors of any backend and dtype; `DistributedDataParallel`
 * averages gradients in overlapped buckets; `DistributedSampler` shards a dataset by rank.
 */
import type { Tensor } from '@ghostflow/core';
import { type ReduceOp, getProcessGroup } from './process-group.js';

export { CollectiveTimeoutError, DistributedError, MpiUnavailableError } from './errors.js';
export type { HostArray } from './addon.js';
export {
  DEFAULT_TIMEOUT_MS,
  ProcessGroup,
  destroyProcessGroup,
  getProcessGroup,
  initProcessGroup,
  isInitialized,
} from './process-group.js';
export type { InitProcessGroupOptions, ReduceOp } from './process-group.js';
export { DistributedDataParallel } from './ddp.js';
export type { BucketInfo, DistributedDataParallelOptions } from './ddp.js';
export { DistributedSampler } from './sampler.js';
export type { DistributedSamplerOptions } from './sampler.js';

/** This process's rank in the default process group. */
export function rank(): number {
  return getProcessGroup().rank();
}

/** The default process group's world size. */
export function worldSize(): number {
  return getProcessGroup().worldSize();
}

/** `barrier()` on the default process group. */
export function barrier(): Promise<void> {
  return getProcessGroup().barrier();
}

/** `allReduce(t, op)` on the default process group (in place). */
export function allReduce(t: Tensor, op: ReduceOp = 'sum'): Promise<void> {
  return getProcessGroup().allReduce(t, op);
}

/** `broadcast(t, src)` on the default process group (in place). */
export function broadcast(t: Tensor, src = 0): Promise<void> {
  return getProcessGroup().broadcast(t, src);
}

/** `allGather(t)` on the default process group: `[worldSize, ...t.shape]`. */
export function allGather(t: Tensor): Promise<Tensor> {
  return getProcessGroup().allGather(t);
}

/** `reduceScatter(t, op)` on the default process group: this rank's reduced row. */
export function reduceScatter(t: Tensor, op: ReduceOp = 'sum'): Promise<Tensor> {
  return getProcessGroup().reduceScatter(t, op);
}
