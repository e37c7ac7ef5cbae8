/** The `write` kernel: the one in-place kernel, a strided copy into an existing buffer. */
import { type TensorView, type TypedArray, isContiguous, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { rowMajorValues, viewOffsets } from '../strided.js';

/**
 * Writes `src` into the elements of `target`'s buffer that `target` views. Core guarantees
 * equal shapes and dtypes, a target without repeated positions, and a source that does not
 * alias the target's buffer, so a plain element-by-element store is exact.
 */
export function write(store: CpuStore, target: TensorView, src: TensorView): void {
  const size = sizeOf(target.shape);
  if (size === 0) return;
  const dst = store.data(target.dataId);
  const values: TypedArray = rowMajorValues(store.data(src.dataId), src);
  if (isContiguous(target.shape, target.strides)) {
    dst.set(values, target.offset);
    return;
  }
  const pos = viewOffsets(target);
  for (let i = 0; i < size; i++) dst[pos[i]] = values[i];
}
