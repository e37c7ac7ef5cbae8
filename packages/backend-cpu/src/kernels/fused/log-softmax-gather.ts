/**
 * The fused `logSoftmaxGather` and `logSoftmaxGatherBackward` kernels: cross-entropy's picked
 * log-probabilities and their gradient over `[N, C]` logits without an `[N, C]` intermediate.
 * Each equals, to the bit, what this backend's JS `logSoftmax` + `gather` (forward) and
 * `softmax` + `mul` + `scatter` (backward) kernels compute: the same float64 max, sum and
 * log per row, rounded to float32 where those kernels store.
 */
import type { DataId, TensorView } from '@ghostflow/core';
import type { CpuStore } from '../../storage.js';
import { rowMajorFloat64, rowMajorValues } from '../../strided.js';
import { expShifted, lineMax } from './softmax.js';

/** Row `r` of `x` as float64 in `buf`, reading any layout through the element strides. */
function loadRow(src: ArrayLike<number>, x: TensorView, r: number, buf: Float64Array): void {
  const n = x.shape[1];
  const base = x.offset + r * x.strides[0];
  const cs = x.strides[1];
  for (let j = 0; j < n; j++) buf[j] = src[base + j * cs];
}

/**
 * `[picked [N, 1], stats [N, 2]]`: `picked[r] = (x[r, t] - m) - log(s)` with `t = index[r]`,
 * `m` the row's max and `s = sum_c exp(x[r, c] - m)` in float64 (the `logSoftmax` kernel's
 * value at `t`); stats are `m` and `1 / s` per row, rounded to float32.
 */
export function logSoftmaxGather(store: CpuStore, x: TensorView, index: TensorView): [DataId, DataId] {
  const [rows, n] = x.shape;
  const src = store.data(x.dataId);
  const idx = rowMajorValues(store.data(index.dataId), index);
  const pickedOut = store.alloc('float32', rows);
  const statsOut = store.alloc('float32', 2 * rows);
  const picked = pickedOut.data as Float32Array;
  const stats = statsOut.data as Float32Array;
  const buf = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    loadRow(src, x, r, buf);
    const m = lineMax(buf, n);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(buf[j] - m);
    const t = idx[r];
    // Core checked the index; out of range (a caller that did not) gives NaN, never a read past the row.
    picked[r] = t >= 0 && t < n ? buf[t] - m - Math.log(s) : Number.NaN;
    stats[2 * r] = m;
    stats[2 * r + 1] = 1 / s;
  }
  return [pickedOut, statsOut];
}

/**
 * `dx [N, C]`: per row, `p = exp(x - m) / s` rounded to float32 (the `softmax` kernel's
 * value: the float64 sum `s` is recomputed from the exps it needs anyway, rather than taken
 * as the stored float32 `1 / s`), then `p * -g` rounded, plus `g` at the index, rounded. The
 * row max comes from `stats`.
 */
export function logSoftmaxGatherBackward(store: CpuStore, x: TensorView, stats: TensorView, index: TensorView, g: TensorView): DataId {
  const [rows, n] = x.shape;
  const src = store.data(x.dataId);
  const st = rowMajorValues(store.data(stats.dataId), stats);
  const idx = rowMajorValues(store.data(index.dataId), index);
  const gv = rowMajorFloat64(store.data(g.dataId), g);
  const out = store.allocUninit('float32', rows * n);
  const dx = out.data as Float32Array;
  const buf = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    loadRow(src, x, r, buf);
    const s = expShifted(buf, n, st[2 * r]);
    const gr = gv[r];
    const row = r * n;
    for (let j = 0; j < n; j++) dx[row + j] = Math.fround(buf[j] / s) * -gr;
    const t = idx[r];
    if (t >= 0 && t < n) dx[row + t] += gr;
  }
  return out;
}
