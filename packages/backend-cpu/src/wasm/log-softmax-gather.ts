/**
 * The wasm entries of the fused cross-entropy kernels (`logSoftmaxGather` and its backward,
 * assembly/kernels.ts), split over the worker threads by rows like the softmax rows. Their
 * values equal, to the bit, what the wasm `logSoftmax` + `gather` and `softmax` + `mul` +
 * `scatter` kernels give on the same inputs: the same row max, exp sum and log code, and
 * every stored value rounded where those kernels round it. Small inputs (below the wasm
 * threshold, where those kernels run in JS) go to the JS kernels, which equal the JS ones.
 */
import { type DataId, type TensorView, sizeOf } from '@ghostflow/core';
import type { CpuFusedTable } from '../kernel-table.js';
import type { CpuStore } from '../storage.js';
import type { KernelCall } from './call.js';
import type { WasmThresholds } from './kernels.js';
import { partBounds, runParts, threadParts } from './parts.js';
import { POOL_OP, type PartArgs } from './pool.js';
import type { WasmRuntime } from './runtime.js';

/** The wasm `logSoftmaxGather` / `logSoftmaxGatherBackward` entries of one runtime. */
export type WasmLogSoftmaxGatherKernels = Pick<CpuFusedTable, 'logSoftmaxGather' | 'logSoftmaxGatherBackward'>;

/**
 * Builds the entries over `rt` and the backend's reused `call`; `js` are the reference
 * kernels they fall back to.
 */
export function wasmLogSoftmaxGatherKernels(
  rt: WasmRuntime,
  th: WasmThresholds,
  call: KernelCall,
  js: Readonly<WasmLogSoftmaxGatherKernels>,
): WasmLogSoftmaxGatherKernels {
  const ex = rt.exports;
  // The caller's share of a split call (made once).
  const localForward = (q: PartArgs): void => ex.logSoftmaxGatherRows(q[0], q[1], q[2], q[3], q[4], q[5]);
  const localBackward = (q: PartArgs): void => ex.logSoftmaxGatherBackwardRows(q[0], q[1], q[2], q[3], q[4], q[5], q[6]);
  // The threshold of the softmax rows: below it the composition these replace runs in JS.
  const worth = (x: TensorView): boolean => x.dtype === 'float32' && sizeOf(x.shape) >= th.minElements && x.shape[1] > 0;

  /** Row parts `[r0, r1)` of a call over `rows` rows of `n` elements. */
  function rowParts(rows: number, n: number, part: (r0: number, r1: number) => PartArgs): PartArgs[] {
    const parts = threadParts(rt, th, rows, rows * n);
    const list: PartArgs[] = [];
    for (let p = 0; p < parts; p++) list.push(part(...partBounds(rows, parts, p, 1, rows)));
    return list;
  }

  function logSoftmaxGather(store: CpuStore, x: TensorView, index: TensorView): [DataId, DataId] {
    if (!worth(x)) return js.logSoftmaxGather(store, x, index);
    const [rows, n] = x.shape;
    call.begin();
    const px = call.view(store, x);
    const pi = call.view(store, index);
    const picked = call.out(rows);
    const stats = call.out(2 * rows);
    if (!call.commit()) return js.logSoftmaxGather(store, x, index);
    const list = rowParts(rows, n, (r0, r1) => [px + 4 * r0 * n, pi + 4 * r0, picked + 4 * r0, stats + 8 * r0, r1 - r0, n]);
    runParts(rt, POOL_OP.logSoftmaxGather, list, localForward);
    return [call.take(store, picked, rows), call.take(store, stats, 2 * rows)];
  }

  function logSoftmaxGatherBackward(store: CpuStore, x: TensorView, stats: TensorView, index: TensorView, g: TensorView): DataId {
    if (!worth(x)) return js.logSoftmaxGatherBackward(store, x, stats, index, g);
    const [rows, n] = x.shape;
    call.begin();
    const px = call.view(store, x);
    const ps = call.view(store, stats);
    const pi = call.view(store, index);
    const pg = call.view(store, g);
    const dx = call.out(rows * n);
    if (!call.commit()) return js.logSoftmaxGatherBackward(store, x, stats, index, g);
    const list = rowParts(rows, n, (r0, r1) => [px + 4 * r0 * n, ps + 8 * r0, pi + 4 * r0, pg + 4 * r0, dx + 4 * r0 * n, r1 - r0, n]);
    runParts(rt, POOL_OP.logSoftmaxGatherBackward, list, localBackward);
    return call.take(store, dx, rows * n);
  }

  return { logSoftmaxGather, logSoftmaxGatherBackward };
}
