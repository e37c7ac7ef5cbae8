/** The fused `softmax` and `logSoftmax` kernels (max-subtracted, so exp never overflows). */
import { type DataId, type TensorView, contiguousStrides, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../../storage.js';
import { dimSize, moveAxesLast, stridedOffsets } from '../../strided.js';

/**
 * Shared body: walks each line along `axis` (input and output in the same permuted order)
 * and hands it to `line`, which receives the line's values in `buf` and writes results
 * back into `buf`.
 */
function alongAxis(store: CpuStore, x: TensorView, axis: number, line: (buf: Float64Array, n: number) => void): DataId {
  const size = sizeOf(x.shape);
  const src = store.data(x.dataId);
  const out = store.alloc('float32', size);
  if (size === 0) return out;
  const dst = out.data as Float32Array;
  const n = dimSize(x.shape, axis);
  const perm = moveAxesLast(x.shape, x.strides, [axis]);
  const outPerm = moveAxesLast(x.shape, contiguousStrides(x.shape), [axis]);
  const inPos = stridedOffsets(perm.shape, perm.strides, x.offset);
  const outPos = stridedOffsets(outPerm.shape, outPerm.strides, 0);
  const buf = new Float64Array(n);
  for (let start = 0; start < size; start += n) {
    for (let j = 0; j < n; j++) buf[j] = src[inPos[start + j]];
    line(buf, n);
    for (let j = 0; j < n; j++) dst[outPos[start + j]] = buf[j];
  }
  return out;
}

/** Max of a line, NaN if any element is NaN (so NaN propagates like the composition). */
export function lineMax(buf: Float64Array, n: number): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) {
    const v = buf[j];
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
}

/** Replaces a line by `exp(x - m)` and returns their float64 sum (softmax's numerator and denominator). */
export function expShifted(buf: Float64Array, n: number, m: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) {
    buf[j] = Math.exp(buf[j] - m);
    s += buf[j];
  }
  return s;
}

/** `exp(x - max) / sum(exp(x - max))` along `axis`. Output: `x.shape`, float32. */
export function softmax(store: CpuStore, x: TensorView, attrs: { axis: number }): DataId {
  return alongAxis(store, x, attrs.axis, (buf, n) => {
    const s = expShifted(buf, n, lineMax(buf, n));
    for (let j = 0; j < n; j++) buf[j] /= s;
  });
}

/**
 * `(x - max) - log(sum(exp(x - max)))` along `axis`. Output: `x.shape`, float32. The max is
 * subtracted first, as PyTorch does: folding it into `max + log(sum)` would round the small
 * log away once |x| is large (at 1e15 the float64 spacing is 0.125; at 1e30, 1e14).
 */
export function logSoftmax(store: CpuStore, x: TensorView, attrs: { axis: number }): DataId {
  return alongAxis(store, x, attrs.axis, (buf, n) => {
    const m = lineMax(buf, n);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(buf[j] - m);
    const ls = Math.log(s);
    for (let j = 0; j < n; j++) buf[j] = buf[j] - m - ls;
  });
}
