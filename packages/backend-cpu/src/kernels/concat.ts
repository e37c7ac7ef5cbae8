/** The `concat` kernel. */
import { type DataId, type TensorView, type TypedArray, contiguousStrides, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { isContiguousView, stridedOffsets } from '../strided.js';

/** Elements from which a contiguous run is copied with `TypedArray.set` rather than a loop. */
const BLOCK_COPY_MIN = 32;

/**
 * Concatenation along `axis`; inputs share a dtype and all other sizes (any may be empty).
 * A contiguous input is copied as blocks (one per index of the dims before `axis`); any
 * other is written through the output's strides shifted to its slot along `axis`.
 * Output: summed size along `axis`, the inputs' dtype.
 */
export function concat(store: CpuStore, inputs: readonly TensorView[], attrs: { axis: number }): DataId {
  const { axis } = attrs;
  const first = inputs[0];
  const outShape = [...first.shape];
  outShape[axis] = inputs.reduce((s, v) => s + v.shape[axis], 0);
  const sources = inputs.map((v) => store.data(v.dataId));
  // Every element is written below (the slots tile the output): no need to zero it first.
  const out = store.allocUninit(first.dtype, sizeOf(outShape));
  const dst = out.data as TypedArray;
  const outStrides = contiguousStrides(outShape);
  // A contiguous input is `rows` runs of `block` elements (its extent along `axis` times
  // everything after it), one per index of the dims before `axis`, landing `outRow` apart.
  const inner = outStrides[axis];
  const outRow = outShape[axis] * inner;
  let slot = 0;
  for (let t = 0; t < inputs.length; t++) {
    const v = inputs[t];
    const size = sizeOf(v.shape);
    const start = slot * inner;
    slot += v.shape[axis];
    if (size === 0) continue;
    const src = sources[t];
    if (isContiguousView(v)) {
      const block = v.shape[axis] * inner;
      const rows = size / block;
      for (let r = 0, from = v.offset, to = start; r < rows; r++, from += block, to += outRow) {
        // A typed-array copy costs a call and a view: worth it from a few dozen elements.
        if (block >= BLOCK_COPY_MIN) dst.set(src.subarray(from, from + block), to);
        else for (let j = 0; j < block; j++) dst[to + j] = src[from + j];
      }
      continue;
    }
    const inPos = stridedOffsets(v.shape, v.strides, v.offset);
    const outPos = stridedOffsets(v.shape, outStrides, start);
    for (let i = 0; i < size; i++) dst[outPos[i]] = src[inPos[i]];
  }
  return out;
}
