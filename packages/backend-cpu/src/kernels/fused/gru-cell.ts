/** The fused `gruCell` kernel: the pointwise part of one GRU step. */
import { type DataId, type TensorView, sizeOf } from '@ghostflow/core';
import { sigmoid } from '../../math.js';
import type { CpuStore } from '../../storage.js';
import { rowMajorFloat64 } from '../../strided.js';

/**
 * gi, gh `[B, 3H]` (r, z, n; biases included), h `[B, H]`. Returns `h'` `[B, H]`:
 * `r = sigmoid(gi_r + gh_r)`, `z = sigmoid(gi_z + gh_z)`, `n = tanh(gi_n + r * gh_n)`,
 * `h' = (1 - z) * n + z * h` (PyTorch's GRU; note r multiplies gh_n, bias included).
 */
export function gruCell(store: CpuStore, gi: TensorView, gh: TensorView, h: TensorView): DataId {
  const hidden = h.shape[h.shape.length - 1];
  const size = sizeOf(h.shape);
  const batch = hidden > 0 ? size / hidden : 0;
  const a = rowMajorFloat64(store.data(gi.dataId), gi);
  const b = rowMajorFloat64(store.data(gh.dataId), gh);
  const hPrev = rowMajorFloat64(store.data(h.dataId), h);
  const out = store.alloc('float32', size);
  const dst = out.data as Float32Array;
  for (let bi = 0; bi < batch; bi++) {
    const row = bi * 3 * hidden;
    for (let j = 0; j < hidden; j++) {
      const r = sigmoid(a[row + j] + b[row + j]);
      const z = sigmoid(a[row + hidden + j] + b[row + hidden + j]);
      const nGate = Math.tanh(a[row + 2 * hidden + j] + r * b[row + 2 * hidden + j]);
      const k = bi * hidden + j;
      dst[k] = (1 - z) * nGate + z * hPrev[k];
    }
  }
  return out;
}

/**
 * Backward of {@link gruCell}: gi, gh `[B, 3H]`, h `[B, H]`, dH `[B, H]` (gradient of h').
 * Returns `[dGi [B, 3H], dGh [B, 3H], dHPrev [B, H]]`; r, z, n are recomputed.
 */
export function gruCellBackward(store: CpuStore, gi: TensorView, gh: TensorView, h: TensorView, dH: TensorView): [DataId, DataId, DataId] {
  const hidden = h.shape[h.shape.length - 1];
  const size = sizeOf(h.shape);
  const batch = hidden > 0 ? size / hidden : 0;
  const a = rowMajorFloat64(store.data(gi.dataId), gi);
  const b = rowMajorFloat64(store.data(gh.dataId), gh);
  const hPrev = rowMajorFloat64(store.data(h.dataId), h);
  const g = rowMajorFloat64(store.data(dH.dataId), dH);
  const dgiOut = store.alloc('float32', 3 * size);
  const dghOut = store.alloc('float32', 3 * size);
  const dhOut = store.alloc('float32', size);
  const dgi = dgiOut.data as Float32Array;
  const dgh = dghOut.data as Float32Array;
  const dh = dhOut.data as Float32Array;
  for (let bi = 0; bi < batch; bi++) {
    const row = bi * 3 * hidden;
    for (let j = 0; j < hidden; j++) {
      const r = sigmoid(a[row + j] + b[row + j]);
      const z = sigmoid(a[row + hidden + j] + b[row + hidden + j]);
      const ghn = b[row + 2 * hidden + j];
      const n = Math.tanh(a[row + 2 * hidden + j] + r * ghn);
      const k = bi * hidden + j;
      const dn = g[k] * (1 - z) * (1 - n * n);
      const dz = g[k] * (hPrev[k] - n) * z * (1 - z);
      const dr = dn * ghn * r * (1 - r);
      dgi[row + j] = dr;
      dgi[row + hidden + j] = dz;
      dgi[row + 2 * hidden + j] = dn;
      dgh[row + j] = dr;
      dgh[row + hidden + j] = dz;
      dgh[row + 2 * hidden + j] = dn * r;
      dh[k] = g[k] * z;
    }
  }
  return [dgiOut, dghOut, dhOut];
}
