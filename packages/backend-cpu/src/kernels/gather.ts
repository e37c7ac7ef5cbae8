/** The `gather` kernel (torch.gather). */
import { type DataId, type IndexKernelAttrs, type TensorView, type TypedArray, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { rowMajorValues, stridedOffsets } from '../strided.js';

/**
 * `out[..., i, ...] = x[..., index[..., i, ...], ...]` along `axis`. `index` is int32, has
 * the output's shape and `x`'s rank. Core range-checks indices when it can read them
 * synchronously; behind an asynchronous wrapper it does not, so an index outside the axis
 * gives 0 and is recorded as a fault (never a read of another row or past the buffer).
 * Output: `index.shape`, `x.dtype`.
 */
export function gather(store: CpuStore, x: TensorView, index: TensorView, attrs: IndexKernelAttrs): DataId {
  const { axis } = attrs;
  const n = axis < x.shape.length ? x.shape[axis] : 1;
  const size = sizeOf(index.shape);
  const src = store.data(x.dataId);
  const idx = rowMajorValues(store.data(index.dataId), index);
  const out = store.alloc(x.dtype, size);
  if (size === 0) return out;
  const dst = out.data as TypedArray;
  // Walking x with index's shape and axis stride 0 gives the position of x[..., 0, ...]
  // for every output element; the index value then steps along the axis.
  const xStrides = [...x.strides];
  const axisStride = xStrides[axis];
  xStrides[axis] = 0;
  const base = stridedOffsets(index.shape, xStrides, x.offset);
  for (let i = 0; i < size; i++) {
    const k = idx[i];
    if (k >= 0 && k < n) dst[i] = src[base[i] + k * axisStride];
    else store.recordIndexFault({ kernel: 'gather', caller: attrs.caller, axis, size: n, index: k });
  }
  return out;
}
