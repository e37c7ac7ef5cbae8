/** The `scatter` kernel (torch.scatter / scatter_add). */
import { type DataId, type IndexKernelAttrs, type TensorView, type TypedArray, contiguousStrides, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { copyRowMajor, rowMajorValues, stridedOffsets } from '../strided.js';

/**
 * A copy of `base` with `src` written (`'none'`) or added (`'add'`) at `index` along
 * `axis`. Elements are visited in row-major order, so with `'none'` the last write to a
 * repeated index wins (the contract leaves this unspecified). float32 `'add'` rounds after
 * every addition, like PyTorch's sequential CPU scatter_add. An index outside the axis
 * (possible only behind an asynchronous wrapper: core range-checks otherwise) is skipped
 * and recorded as a fault, never written into the next row. Output: `base.shape`,
 * `base.dtype`.
 */
export function scatter(
  store: CpuStore,
  base: TensorView,
  index: TensorView,
  src: TensorView,
  attrs: IndexKernelAttrs & { reduce: 'none' | 'add' },
): DataId {
  const { axis, reduce } = attrs;
  const idx = rowMajorValues(store.data(index.dataId), index);
  const vals = rowMajorValues(store.data(src.dataId), src);
  // The output starts as base, written once (a one-hot gradient's zeros are a broadcast scalar).
  const out = store.allocUninit(base.dtype, sizeOf(base.shape));
  const dst = out.data as TypedArray;
  copyRowMajor(dst, store.data(base.dataId), base);
  const size = sizeOf(index.shape);
  if (size === 0) return out;
  const outStrides = contiguousStrides(base.shape);
  const axisStride = outStrides[axis];
  outStrides[axis] = 0;
  const pos = stridedOffsets(index.shape, outStrides, 0);
  const n = axis < base.shape.length ? base.shape[axis] : 1;
  for (let i = 0; i < size; i++) {
    const k = idx[i];
    if (k < 0 || k >= n) {
      store.recordIndexFault({ kernel: 'scatter', caller: attrs.caller, axis, size: n, index: k });
      continue;
    }
    const p = pos[i] + k * axisStride;
    if (reduce === 'none') dst[p] = vals[i];
    // Adding bools is a logical or; a Uint8Array would otherwise count past 1.
    else if (base.dtype === 'bool') dst[p] = dst[p] !== 0 || vals[i] !== 0 ? 1 : 0;
    else dst[p] += vals[i];
  }
  return out;
}
