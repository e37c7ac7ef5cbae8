/** The `cast` kernel: dtype conversion. */
import { type DType, type DataId, type TensorView, type TypedArray, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { rowMajorValues } from '../strided.js';

/**
 * float→int32 truncates toward zero (Math.trunc, then the Int32Array store wraps; NaN
 * becomes 0, where PyTorch's result is undefined behaviour); anything→bool is `x != 0`, so
 * NaN is true as in PyTorch. Output: `x.shape`, `attrs.dtype`.
 */
export function cast(store: CpuStore, x: TensorView, attrs: { dtype: DType }): DataId {
  const size = sizeOf(x.shape);
  const src = rowMajorValues(store.data(x.dataId), x);
  const out = store.alloc(attrs.dtype, size);
  const dst = out.data as TypedArray;
  if (attrs.dtype === 'bool' && x.dtype !== 'bool') {
    for (let i = 0; i < size; i++) dst[i] = src[i] !== 0 ? 1 : 0;
  } else if (attrs.dtype === 'int32' && x.dtype === 'float32') {
    for (let i = 0; i < size; i++) dst[i] = Math.trunc(src[i]);
  } else {
    // Same dtype, int/bool→float32 (float32 store rounds) or bool→int32: plain copy.
    dst.set(src);
  }
  return out;
}
