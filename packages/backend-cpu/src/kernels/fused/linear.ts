/** The fused `linear` kernel: `x @ weight^T + bias` in one pass over the GEMM core. */
import { type DataId, type LinearActivation, type TensorView, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../../storage.js';
import { rowMajorFloat64 } from '../../strided.js';
import { gemm, packMatrix } from '../matmul.js';
import { FLOAT_OPS } from '../unary.js';

/** Applies `activation` in place to float32 values (the `unary` kernel's float64 formula, one rounding). */
export function applyActivation(values: Float32Array, activation: LinearActivation | undefined): void {
  if (!activation) return;
  const fn = FLOAT_OPS[activation];
  for (let i = 0; i < values.length; i++) values[i] = fn(values[i]);
}

/**
 * x `[..., K]`, weight `[N, K]`, bias `[N]` or null. Output `[..., N]`, float32. The bias
 * seeds the float64 accumulator, so the result is rounded once instead of twice (within
 * float32 rounding of matmul-then-add, as the contract asks). `activation` is applied to
 * the stored float32 result, exactly as the `unary` kernel would.
 */
export function linear(
  store: CpuStore,
  x: TensorView,
  weight: TensorView,
  bias: TensorView | null,
  attrs?: { activation?: LinearActivation },
): DataId {
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
  applyActivation(out.data as Float32Array, attrs?.activation);
  return out;
}
