/** The `concat` kernel. */
import { type DataId, type TensorView, type TypedArray, contiguousStrides, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { isContiguousView, stridedOffsets } from '../strided.js';

/**
 * Concatenation along `axis`; inputs share a dtype and all other sizes (any may be empty).
 * Each input is written through the output's strides shifted to its slot along `axis`.
 * Output: summed size along `axis`, the inputs' dtype.
 */
export function concat(store: CpuStore, inputs: readonly TensorView[], attrs: { axis: number }): DataId {
  const { axis } = attrs;
  const first = inputs[0];
  const outShape = [...first.shape];
  outShape[axis] = inputs.reduce((s, v) => s + v.shape[axis], 0);
  const sources = inputs.map((v) => store.data(v.dataId));
  // Uninitialised: the inputs' slots tile the output, so every element is written below.
  const out = store.allocUninit(first.dtype, sizeOf(outShape));
  const dst = out.data as TypedArray;
  const outStrides = contiguousStrides(outShape);
  // When everything before `axis` has size 1, each input is one contiguous block of the output.
  const blockwise = outShape.slice(0, axis).every((d) => d === 1);
  // Rows of the output: the dims before `axis` (each input fills one run of every row).
  const rows = sizeOf(outShape.slice(0, axis));
  const rowStride = axis === 0 ? 0 : outStrides[axis - 1];
  let slot = 0;
  for (let t = 0; t < inputs.length; t++) {
    const v = inputs[t];
    const size = sizeOf(v.shape);
    const start = slot * outStrides[axis];
    slot += v.shape[axis];
    if (size === 0) continue;
    const src = sources[t];
    if (blockwise && isContiguousView(v)) {
      dst.set(src.subarray(v.offset, v.offset + size), start);
      continue;
    }
    if (isContiguousView(v)) {
      // A contiguous input is `rows` runs of `run` elements, one per output row (e.g. the two
      // directions of a bidirectional RNN joined along features): copied run by run, no index
      // arrays.
      const run = size / rows;
      for (let r = 0, s = v.offset, d = start; r < rows; r++, s += run, d += rowStride) {
        if (run >= 64) dst.set(src.subarray(s, s + run), d);
        else for (let i = 0; i < run; i++) dst[d + i] = src[s + i];
      }
      continue;
    }
    const inPos = stridedOffsets(v.shape, v.strides, v.offset);
    const outPos = stridedOffsets(v.shape, outStrides, start);
    for (let i = 0; i < size; i++) dst[outPos[i]] = src[inPos[i]];
  }
  return out;
}
