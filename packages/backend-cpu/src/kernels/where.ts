/** The `where` kernel: elementwise select. */
import { type DataId, type TensorView, type TypedArray, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { rowMajorValues } from '../strided.js';

/**
 * `cond ? a : b`; all three share one shape (broadcast by core), `a` and `b` a dtype.
 * Only the taken branch is read, so a NaN in the other never leaks. Output: `a.dtype`.
 */
export function where(store: CpuStore, cond: TensorView, a: TensorView, b: TensorView): DataId {
  const size = sizeOf(a.shape);
  const c = rowMajorValues(store.data(cond.dataId), cond);
  const av = rowMajorValues(store.data(a.dataId), a);
  const bv = rowMajorValues(store.data(b.dataId), b);
  const out = store.alloc(a.dtype, size);
  const dst = out.data as TypedArray;
  for (let i = 0; i < size; i++) dst[i] = c[i] !== 0 ? av[i] : bv[i];
  return out;
}
