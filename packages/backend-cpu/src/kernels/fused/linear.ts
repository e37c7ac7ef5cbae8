/** The fused `linear` kernel: `x @ weight^T + bias` in one pass over the GEMM core. */
import { type DataId, type TensorView, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../../storage.js';
import { rowMajorFloat64 } from '../../strided.js';
import { gemm, packMatrix } from '../matmul.js';

/**
 * x `[..., K]`, weight `[N, K]`, bias `[N]` or null. Output `[..., N]`, float32. The bias
 * seeds the float64 accumulator, so the result is rounded once instead of twice (within
 * float32 rounding of matmul-then-add, as the contract asks).
 */
export function linear(store: CpuStore, x: TensorView, weight: TensorView, bias: TensorView | null): DataId {
  const rank = x.shape.length;
  const k = x.shape[rank - 1];
  const n = weight.shape[0];
  const rows = sizeOf(x.shape.slice(0, rank - 1));
  const a = rowMajorFloat64(store.data(x.dataId), x);
  // Pack weight^T ([K, N]) directly: reading weight with swapped strides is the transpose.
  const wT = new Float64Array(k * n);
  packMatrix(store.data(weight.dataId), weight.offset, k, n, weight.strides[1], weight.strides[0], wT);
  const b = bias ? rowMajorFloat64(store.data(bias.dataId), bias) : null;
  const out = store.alloc('float32', rows * n);
  if (rows * n === 0) return out;
  gemm(a, wT, rows, k, n, out.data as Float32Array, 0, b);
  return out;
}
