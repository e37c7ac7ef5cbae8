/** The `reduce` kernel: sum/prod/max/min/any/all over a set of axes. */
import { type DataId, type ReduceOp, type TensorView, type TypedArray, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { dimSize, isContiguousView, moveAxesLast, rowMajorValues, stridedOffsets } from '../strided.js';

/** The value reducing an empty set gives (also the accumulator's start). */
const IDENTITY: Record<ReduceOp, number> = {
  sum: 0,
  prod: 1,
  max: Number.NEGATIVE_INFINITY,
  min: Number.POSITIVE_INFINITY,
  any: 0,
  all: 1,
};

/**
 * Reduces over `axes` (sorted, unique; empty = copy). Output: `x.shape` without `axes`,
 * dtype kept. float32 sums and products accumulate in float64 and round once; int32 ones
 * wrap at every step like C int32 (so a float64 accumulator never loses low bits).
 * max/min propagate NaN.
 */
export function reduce(store: CpuStore, x: TensorView, attrs: { op: ReduceOp; axes: readonly number[] }): DataId {
  const { op, axes } = attrs;
  const src = store.data(x.dataId);
  if (axes.length === 0) {
    const out = store.alloc(x.dtype, sizeOf(x.shape));
    (out.data as TypedArray).set(rowMajorValues(src, x));
    return out;
  }
  if (op === 'sum' && x.dtype === 'float32' && leadingAxes(axes, x.shape.length) && isContiguousView(x)) {
    return sumLeading(store, src, x, axes.length);
  }
  // With the reduced axes moved last, the inputs of output element o are the consecutive
  // positions [o * r, (o + 1) * r) of the permuted row-major walk.
  const perm = moveAxesLast(x.shape, x.strides, axes);
  const outSize = sizeOf(perm.kept.map((d) => x.shape[d]));
  const r = sizeOf(axes.map((d) => dimSize(x.shape, d)));
  const out = store.alloc(x.dtype, outSize);
  const dst = out.data as TypedArray;
  const pos = stridedOffsets(perm.shape, perm.strides, x.offset);
  const isInt = x.dtype === 'int32';
  for (let o = 0, p = 0; o < outSize; o++) {
    let acc = IDENTITY[op];
    const end = p + r;
    switch (op) {
      case 'sum':
        if (isInt) for (; p < end; p++) acc = (acc + src[pos[p]]) | 0;
        else for (; p < end; p++) acc += src[pos[p]];
        break;
      case 'prod':
        if (isInt) for (; p < end; p++) acc = Math.imul(acc, src[pos[p]]);
        else for (; p < end; p++) acc *= src[pos[p]];
        break;
      case 'max':
        for (; p < end; p++) {
          const v = src[pos[p]];
          if (v > acc || Number.isNaN(v)) acc = v;
          if (Number.isNaN(acc)) break;
        }
        break;
      case 'min':
        for (; p < end; p++) {
          const v = src[pos[p]];
          if (v < acc || Number.isNaN(v)) acc = v;
          if (Number.isNaN(acc)) break;
        }
        break;
      case 'any':
        for (; p < end; p++) {
          if (src[pos[p]] !== 0) {
            acc = 1;
            break;
          }
        }
        break;
      case 'all':
        for (; p < end; p++) {
          if (src[pos[p]] === 0) {
            acc = 0;
            break;
          }
        }
        break;
    }
    p = end;
    dst[o] = acc;
  }
  return out;
}

/** Whether `axes` are the first dims `0..k-1` (some, not all, of `rank`). */
function leadingAxes(axes: readonly number[], rank: number): boolean {
  if (axes.length >= rank) return false;
  for (let i = 0; i < axes.length; i++) if (axes[i] !== i) return false;
  return true;
}

/**
 * float32 sum over the first `lead` dims of a contiguous view (a bias gradient: `[rows, n]`
 * summed to `[n]`): whole rows added into float64 accumulators, in row order, so each output
 * sees the same additions in the same order as the general walk, without its offsets array.
 */
function sumLeading(store: CpuStore, src: TypedArray, x: TensorView, lead: number): DataId {
  const rows = sizeOf(x.shape.slice(0, lead));
  const n = sizeOf(x.shape.slice(lead));
  const acc = new Float64Array(n);
  for (let r = 0, p = x.offset; r < rows; r++, p += n) for (let c = 0; c < n; c++) acc[c] += src[p + c];
  const out = store.alloc('float32', n);
  (out.data as TypedArray).set(acc);
  return out;
}
