/** The fused `lstmCell` kernel: the pointwise part of one LSTM step. */
import { type DataId, type TensorView, sizeOf } from '@ghostflow/core';
import { sigmoid } from '../../math.js';
import type { CpuStore } from '../../storage.js';
import { rowMajorFloat64 } from '../../strided.js';

/**
 * gates `[B, 4H]` (i, f, g, o; both biases already added), c `[B, H]`. Returns `[h, c']`:
 * `c' = sigmoid(f) * c + sigmoid(i) * tanh(g)`, `h = sigmoid(o) * tanh(c')`. `tanh` is
 * taken of c' rounded to float32, the value the composition of primitives would see.
 */
export function lstmCell(store: CpuStore, gates: TensorView, c: TensorView): [DataId, DataId] {
  const hidden = c.shape[c.shape.length - 1];
  const size = sizeOf(c.shape);
  const batch = hidden > 0 ? size / hidden : 0;
  const g = rowMajorFloat64(store.data(gates.dataId), gates);
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
