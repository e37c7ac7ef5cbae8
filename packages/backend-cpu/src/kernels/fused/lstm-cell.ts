/** The fused `lstmCell` kernel: the pointwise part of one LSTM step. */
import { type DataId, type TensorView, sizeOf } from '@ghostflow/core';
import { sigmoid } from '../../math.js';
import type { CpuStore } from '../../storage.js';
import { rowMajorFloat64 } from '../../strided.js';

/** `gi + gh` rounded to float32, as the composition's `add` stores the gate sums. */
function gateSums(store: CpuStore, gi: TensorView, gh: TensorView): Float64Array {
  const g = rowMajorFloat64(store.data(gi.dataId), gi);
  const h = rowMajorFloat64(store.data(gh.dataId), gh);
  for (let k = 0; k < g.length; k++) g[k] = Math.fround(g[k] + h[k]);
  return g;
}

/**
 * gi, gh `[B, 4H]` (i, f, g, o; the input and hidden gate sums), c `[B, H]`. Returns `[h, c']`:
 * with gates = gi + gh, `c' = sigmoid(f) * c + sigmoid(i) * tanh(g)`, `h = sigmoid(o) * tanh(c')`.
 * `tanh` is taken of c' rounded to float32, the value the composition of primitives would see.
 */
export function lstmCell(store: CpuStore, gi: TensorView, gh: TensorView, c: TensorView): [DataId, DataId] {
  const hidden = c.shape[c.shape.length - 1];
  const size = sizeOf(c.shape);
  const batch = hidden > 0 ? size / hidden : 0;
  const g = gateSums(store, gi, gh);
  const cPrev = rowMajorFloat64(store.data(c.dataId), c);
  const hOut = store.alloc('float32', size);
  const cOut = store.alloc('float32', size);
  const hDst = hOut.data as Float32Array;
  const cDst = cOut.data as Float32Array;
  for (let bi = 0; bi < batch; bi++) {
    const row = bi * 4 * hidden;
    for (let j = 0; j < hidden; j++) {
      const i = sigmoid(g[row + j]);
      const f = sigmoid(g[row + hidden + j]);
      const gg = Math.tanh(g[row + 2 * hidden + j]);
      const o = sigmoid(g[row + 3 * hidden + j]);
      const k = bi * hidden + j;
      const cNew = Math.fround(f * cPrev[k] + i * gg);
      cDst[k] = cNew;
      hDst[k] = o * Math.tanh(cNew);
    }
  }
  return [hOut, cOut];
}

/**
 * Backward of {@link lstmCell}: gi, gh `[B, 4H]`, c `[B, H]`, dH `[B, H]` (gradient of h),
 * dC `[B, H]` (gradient of c'). Returns `[dGates [B, 4H], dCPrev [B, H]]` (dGates is the
 * gradient of gi and of gh); the gate activations and c' (rounded to float32, as the forward
 * stores it) are recomputed.
 */
export function lstmCellBackward(
  store: CpuStore,
  gi: TensorView,
  gh: TensorView,
  c: TensorView,
  dH: TensorView,
  dC: TensorView,
): [DataId, DataId] {
  const hidden = c.shape[c.shape.length - 1];
  const size = sizeOf(c.shape);
  const batch = hidden > 0 ? size / hidden : 0;
  const g = gateSums(store, gi, gh);
  const cPrev = rowMajorFloat64(store.data(c.dataId), c);
  const dh = rowMajorFloat64(store.data(dH.dataId), dH);
  const gc = rowMajorFloat64(store.data(dC.dataId), dC);
  const dgOut = store.alloc('float32', 4 * size);
  const dcOut = store.alloc('float32', size);
  const dg = dgOut.data as Float32Array;
  const dcp = dcOut.data as Float32Array;
  for (let bi = 0; bi < batch; bi++) {
    const row = bi * 4 * hidden;
    for (let j = 0; j < hidden; j++) {
      const i = sigmoid(g[row + j]);
      const f = sigmoid(g[row + hidden + j]);
      const gg = Math.tanh(g[row + 2 * hidden + j]);
      const o = sigmoid(g[row + 3 * hidden + j]);
      const k = bi * hidden + j;
      const tc = Math.tanh(Math.fround(f * cPrev[k] + i * gg));
      const dc = gc[k] + dh[k] * o * (1 - tc * tc);
      dg[row + j] = dc * gg * i * (1 - i);
      dg[row + hidden + j] = dc * cPrev[k] * f * (1 - f);
      dg[row + 2 * hidden + j] = dc * i * (1 - gg * gg);
      dg[row + 3 * hidden + j] = dh[k] * tc * o * (1 - o);
      dcp[k] = dc * f;
    }
  }
  return [dgOut, dcOut];
}
