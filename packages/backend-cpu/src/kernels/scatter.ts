/** The `scatter` kernel (torch.scatter / scatter_add). */
import { type DataId, type TensorView, type TypedArray, contiguousStrides, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { rowMajorValues, stridedOffsets } from '../strided.js';

/**
 * A copy of `base` with `src` written (`'none'`) or added (`'add'`) at `index` along
 * `axis`. Elements are visited in row-major order, so with `'none'` the last write to a
 * repeated index wins (the contract leaves this unspecified). float32 `'add'` rounds after
 * every addition, like PyTorch's sequential CPU scatter_add. Output: `base.shape`,
 * `base.dtype`.
 */
export function scatter(
  store: CpuStore,
  base: TensorView,
  index: TensorView,
  src: TensorView,
  attrs: { axis: number; reduce: 'none' | 'add' },
): DataId {
  const { axis, reduce } = attrs;
  const baseValues = rowMajorValues(store.data(base.dataId), base);
  const idx = rowMajorValues(store.data(index.dataId), index);
  const vals = rowMajorValues(store.data(src.dataId), src);
  const out = store.alloc(base.dtype, sizeOf(base.shape));
  const dst = out.data as TypedArray;
  dst.set(baseValues);
  const size = sizeOf(index.shape);
  if (size === 0) return out;
  const outStrides = contiguousStrides(base.shape);
  const axisStride = outStrides[axis];
  outStrides[axis] = 0;
  const pos = stridedOffsets(index.shape, outStrides, 0);
  if (reduce === 'none') {
    for (let i = 0; i < size; i++) dst[pos[i] + idx[i] * axisStride] = vals[i];
  } else if (base.dtype === 'bool') {
    // Adding bools is a logical or; a Uint8Array would otherwise count past 1.
    for (let i = 0; i < size; i++) {
      const p = pos[i] + idx[i] * axisStride;
      dst[p] = dst[p] !== 0 || vals[i] !== 0 ? 1 : 0;
    }
  } else {
    for (let i = 0; i < size; i++) dst[pos[i] + idx[i] * axisStride] += vals[i];
  }
  return out;
}
