/** The fused `layerNorm` kernel. */
import { type DataId, type TensorView, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../../storage.js';
import { rowMajorFloat64 } from '../../strided.js';

/**
 * Layer norm over the last `normalizedSize` elements of each row:
 * `(x - mean) * rstd * weight + bias` with `rstd = 1 / sqrt(var_biased + eps)`.
 * Returns `[out, mean, rstd]`: out has `x.shape`; mean and rstd are `[rows]` float32.
 * The variance is two-pass (mean first, then squared deviations) in float64, which avoids
 * the cancellation of `E[x^2] - E[x]^2`.
 */
export function layerNorm(
  store: CpuStore,
  x: TensorView,
  weight: TensorView | null,
  bias: TensorView | null,
  attrs: { normalizedSize: number; eps: number },
): [DataId, DataId, DataId] {
  const n = attrs.normalizedSize;
  const size = sizeOf(x.shape);
  const rows = n > 0 ? size / n : leadingRows(x, n);
  const v = rowMajorFloat64(store.data(x.dataId), x);
  const w = weight ? rowMajorFloat64(store.data(weight.dataId), weight) : null;
  const b = bias ? rowMajorFloat64(store.data(bias.dataId), bias) : null;
  const out = store.alloc('float32', size);
  const meanOut = store.alloc('float32', rows);
  const rstdOut = store.alloc('float32', rows);
  const dst = out.data as Float32Array;
  const meanDst = meanOut.data as Float32Array;
  const rstdDst = rstdOut.data as Float32Array;
  for (let r = 0; r < rows; r++) {
    const start = r * n;
    let s = 0;
    for (let j = 0; j < n; j++) s += v[start + j];
    const mean = s / n;
    let ss = 0;
    for (let j = 0; j < n; j++) {
      const d = v[start + j] - mean;
      ss += d * d;
    }
    const rstd = 1 / Math.sqrt(ss / n + attrs.eps);
    meanDst[r] = mean;
    rstdDst[r] = rstd;
    for (let j = 0; j < n; j++) {
      let y = (v[start + j] - mean) * rstd;
      if (w) y *= w[j];
      if (b) y += b[j];
      dst[start + j] = y;
    }
  }
  return [out, meanOut, rstdOut];
}

/**
 * Row count when `normalizedSize` is 0 (then numel / normalizedSize is undefined): the
 * product of the dims before the trailing dims whose product is 0, i.e. before the last
 * size-0 dim. The contract does not pin this case down; this matches PyTorch's mean shape.
 */
function leadingRows(x: TensorView, n: number): number {
  let prod = 1;
  for (let d = x.shape.length - 1; d >= 0; d--) {
    prod *= x.shape[d];
    if (prod === n) return sizeOf(x.shape.slice(0, d));
  }
  return 0;
}
