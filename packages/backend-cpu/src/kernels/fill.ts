/** The `fill` kernel: a new buffer holding one value. */
import { type DType, type DataId, type Shape, type TypedArray, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';

/**
 * A new contiguous buffer of `shape` filled with `value`. bool stores `value != 0` (NaN is
 * true, as in a cast), int32 truncates toward zero like a cast.
 */
export function fill(store: CpuStore, attrs: { shape: Shape; dtype: DType; value: number }): DataId {
  const out = store.allocUninit(attrs.dtype, sizeOf(attrs.shape));
  const v = attrs.dtype === 'bool' ? (attrs.value !== 0 ? 1 : 0) : attrs.dtype === 'int32' ? Math.trunc(attrs.value) : attrs.value;
  // One pass: a resident block holds its last owner's values, so it is always written; a new
  // typed array is +0 already, but -0 must still be written (torch.full(-0.0) keeps the sign,
  // and x / -0 is -inf for x > 0).
  if (out.ptr >= 0 || v !== 0 || Object.is(v, -0)) (out.data as TypedArray).fill(v);
  return out;
}
