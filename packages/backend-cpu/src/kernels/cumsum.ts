/** The `cumsum` kernel: inclusive cumulative sum along one axis. */
import { type DataId, type TensorView, type TypedArray, contiguousStrides, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { dimSize, moveAxesLast, stridedOffsets } from '../strided.js';

/**
 * Inclusive cumulative sum along `axis`. Output: `x.shape`, `x.dtype`. float32 accumulates
 * in float64 like PyTorch's CPU kernel (its accumulator type for float is double), rounding
 * each partial sum once on store; int32 wraps at every step.
 */
export function cumsum(store: CpuStore, x: TensorView, attrs: { axis: number }): DataId {
  const { axis } = attrs;
  const src = store.data(x.dataId);
  const size = sizeOf(x.shape);
  const out = store.alloc(x.dtype, size);
  const dst = out.data as TypedArray;
  if (size === 0) return out;
  // Walk input and output in the same permuted order (axis last), so each run of n
  // consecutive positions is one line to accumulate along.
  const perm = moveAxesLast(x.shape, x.strides, [axis]);
  const outPerm = moveAxesLast(x.shape, contiguousStrides(x.shape), [axis]);
  const inPos = stridedOffsets(perm.shape, perm.strides, x.offset);
  const outPos = stridedOffsets(outPerm.shape, outPerm.strides, 0);
  const n = dimSize(x.shape, axis);
  const isInt = x.dtype === 'int32';
  for (let start = 0; start < size; start += n) {
    let acc = 0;
    for (let p = start; p < start + n; p++) {
      acc = isInt ? (acc + src[inPos[p]]) | 0 : acc + src[inPos[p]];
      dst[outPos[p]] = acc;
    }
  }
  return out;
}
