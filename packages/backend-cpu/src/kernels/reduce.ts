/** The `reduce` kernel: sum/prod/max/min/any/all over a set of axes. */
import { type DataId, type ReduceOp, type TensorView, type TypedArray, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { copyRowMajor, dimSize, isContiguousView, moveAxesLast, stridedOffsets } from '../strided.js';

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
    const out = store.allocUninit(x.dtype, sizeOf(x.shape));
    copyRowMajor(out.data as TypedArray, src, x);
    return out;
  }
  const leading = leadingSum(store, x, axes, op);
  if (leading) return leading;
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

/**
 * A float32 sum over the leading axes of a contiguous tensor (a bias gradient: `g.sum(0)`
 * over every row) as a row-by-row sweep into float64 accumulators, or null for anything
 * else. Each output adds its inputs in the same order as the general walk, so the result is
 * the same to the bit; the general walk first builds an index per input element, which for
 * a [rows, n] gradient costs more than the sum.
 */
function leadingSum(store: CpuStore, x: TensorView, axes: readonly number[], op: ReduceOp): DataId | null {
  if (op !== 'sum' || x.dtype !== 'float32' || axes.some((a, i) => a !== i)) return null;
  let expected = 1;
  for (let d = x.shape.length - 1; d >= 0; d--) {
    if (x.shape[d] !== 1 && x.strides[d] !== expected) return null;
    expected *= x.shape[d];
  }
  const rows = sizeOf(x.shape.slice(0, axes.length));
  const n = sizeOf(x.shape.slice(axes.length));
  const src = (store.data(x.dataId) as Float32Array).subarray(x.offset, x.offset + rows * n);
  const acc = new Float64Array(n);
  for (let i = 0; i < rows; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) acc[j] += src[row + j];
  }
  const out = store.alloc('float32', n);
  (out.data as Float32Array).set(acc);
  return out;
}
