/** The `gather` kernel (torch.gather). */
import { type DataId, type TensorView, type TypedArray, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { rowMajorValues, stridedOffsets } from '../strided.js';

/**
 * `out[..., i, ...] = x[..., index[..., i, ...], ...]` along `axis`. `index` is int32, has
 * the output's shape and `x`'s rank, and is already range-checked. Output: `index.shape`,
 * `x.dtype`.
 */
export function gather(store: CpuStore, x: TensorView, index: TensorView, attrs: { axis: number }): DataId {
  const { axis } = attrs;
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
  for (let i = 0; i < size; i++) dst[i] = src[base[i] + idx[i] * axisStride];
  return out;
}
