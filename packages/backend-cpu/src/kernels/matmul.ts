/**
 * The `matmul` kernel and the GEMM core the fused `linear` kernel shares. Plain JavaScript:
 * each operand's batch slice is copied into a contiguous Float64Array (which also resolves
 * every stride layout, transposes included), then an i-k-j loop accumulates each output
 * row in float64 and rounds it once into the float32 output. A WebAssembly GEMM can replace
 * this file's `matmul` entry in the kernel table without touching the rest.
 */
import { type DataId, type TensorView, sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../storage.js';
import { stridedOffsets } from '../strided.js';

/**
 * Copies the `[rows, cols]` matrix at `offset` with the given strides into `dst`
 * (row-major). Split out so that a transposed operand is read once, not once per output.
 */
export function packMatrix(
  src: ArrayLike<number>,
  offset: number,
  rows: number,
  cols: number,
  rowStride: number,
  colStride: number,
  dst: Float64Array,
): void {
  let i = 0;
  for (let r = 0; r < rows; r++) {
    let p = offset + r * rowStride;
    for (let c = 0; c < cols; c++, p += colStride) dst[i++] = src[p];
  }
}

/**
 * `out[outOffset + i*n + j] = sum_p a[i*k + p] * b[p*n + j] (+ bias[j])` with a float64
 * accumulator row. Zero entries of `a` are not skipped: 0 * inf must still give NaN.
 */
export function gemm(
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  n: number,
  out: Float32Array,
  outOffset: number,
  bias: Float64Array | null = null,
): void {
  const acc = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    if (bias) acc.set(bias);
    else acc.fill(0);
    const aRow = i * k;
    for (let p = 0; p < k; p++) {
      const aip = a[aRow + p];
      const bRow = p * n;
      for (let j = 0; j < n; j++) acc[j] += aip * b[bRow + j];
    }
    out.set(acc, outOffset + i * n);
  }
}

/**
 * Batched product of float32 `a` `[...batch, M, K]` and `b` `[...batch, K, N]` (identical
 * batch shapes, possibly stride 0). Output `[...batch, M, N]`, float32.
 */
export function matmul(store: CpuStore, a: TensorView, b: TensorView): DataId {
  const rank = a.shape.length;
  const batchShape = a.shape.slice(0, rank - 2);
  const m = a.shape[rank - 2];
  const k = a.shape[rank - 1];
  const n = b.shape[rank - 1];
  const batch = sizeOf(batchShape);
  const aSrc = store.data(a.dataId);
  const bSrc = store.data(b.dataId);
  const out = store.alloc('float32', batch * m * n);
  const dst = out.data as Float32Array;
  if (batch * m * n === 0) return out;
  const aOff = stridedOffsets(batchShape, a.strides.slice(0, rank - 2), a.offset);
  const bOff = stridedOffsets(batchShape, b.strides.slice(0, rank - 2), b.offset);
  const aPack = new Float64Array(m * k);
  const bPack = new Float64Array(k * n);
  // A broadcast (stride-0) batch dim repeats the same slice: pack it only when it changes.
  let aPacked = -1;
  let bPacked = -1;
  for (let t = 0; t < batch; t++) {
    if (aOff[t] !== aPacked) {
      packMatrix(aSrc, aOff[t], m, k, a.strides[rank - 2], a.strides[rank - 1], aPack);
      aPacked = aOff[t];
    }
    if (bOff[t] !== bPacked) {
      packMatrix(bSrc, bOff[t], k, n, b.strides[rank - 2], b.strides[rank - 1], bPack);
      bPacked = bOff[t];
    }
    gemm(aPack, bPack, m, k, n, dst, t * m * n);
  }
  return out;
}
