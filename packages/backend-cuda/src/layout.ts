/** Encoding views for the addon: joint dimension collapsing and the `[handle, offset, rank, ...]` form. */
import { BackendError, type Shape } from '@ghostflow/core';
import type { NativeView } from './native.js';

/** Most dims a kernel argument block holds (GF_MAX_RANK in native/kernels/args.h). */
export const MAX_RANK = 8;

/**
 * Drops size-1 dims and merges neighbouring dims that are contiguous relative to each other in
 * every one of `strides` (all views share `shape`): fewer dims, fewer divisions per element.
 */
export function collapseJoint(shape: Shape, strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, v) => outStrides[v][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      for (let v = 0; v < strides.length; v++) outStrides[v][last] = strides[v][d];
    } else {
      outShape.push(shape[d]);
      for (let v = 0; v < strides.length; v++) outStrides[v].push(strides[v][d]);
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** `[handle, offset, rank, ...shape, ...strides]`, refusing ranks the kernels cannot index. */
export function encode(handle: number, offset: number, shape: readonly number[], strides: readonly number[]): NativeView {
  if (shape.length > MAX_RANK) {
    throw new BackendError(`cuda: a view of rank ${shape.length} has more than ${MAX_RANK} non-collapsible dims`);
  }
  return [handle, offset, shape.length, ...shape, ...strides];
}
