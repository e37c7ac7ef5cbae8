/**
 * The fused recurrent layer (inference), JavaScript reference: per direction the input
 * projection (the `linear` kernel) and the time loop (the `recurrentSequence` kernel), the
 * results written into the layer's output layout. It is the composition core runs without
 * the kernel, done inside the backend, so its values are that composition's exactly.
 */
import type { DataId, RecurrentLayerAttrs, RecurrentLayerDirection, TensorView } from '@ghostflow/core';
import type { CpuStore } from '../../storage.js';
import { linear } from './linear.js';
import { gateCount, recurrentSequence, stepOffsets } from './recurrent-sequence.js';

/** A contiguous row-major view of a whole buffer. */
const whole = (dataId: DataId, shape: number[]): TensorView => ({
  dataId,
  dtype: 'float32',
  shape,
  strides: shape.length === 2 ? [shape[1], 1] : [1],
  offset: 0,
});

/**
 * x `[N, I]` read in time-major row order: with `batchFirst` row `b*T + t` is step t's batch
 * entry b, so the view `[T, B, I]` has strides (row, T rows, column).
 */
export function timeMajorRows(x: TensorView, attrs: RecurrentLayerAttrs): TensorView {
  if (!attrs.batchFirst) return x;
  const T = attrs.batchSizes.length;
  const B = attrs.batchSizes[0];
  const [rs, cs] = x.strides;
  return { ...x, shape: [T, B, x.shape[1]], strides: [rs, T * rs, cs] };
}

/** Forward: see `FusedKernels.recurrentLayer`. */
export function recurrentLayer(
  store: CpuStore,
  x: TensorView,
  directions: readonly RecurrentLayerDirection[],
  attrs: RecurrentLayerAttrs,
): [DataId, DataId, DataId | null] {
  const { mode, batchSizes, hiddenSize: H, batchFirst } = attrs;
  const GH = gateCount(mode) * H;
  const D = directions.length;
  const P = directions[0].wHh.shape[1];
  const B = batchSizes[0];
  const T = batchSizes.length;
  const { rows: N } = stepOffsets(batchSizes);
  const isLSTM = mode === 'LSTM';
  const y = store.allocUninit('float32', N * D * P);
  const hN = store.allocUninit('float32', D * B * P);
  const cN = isLSTM ? store.allocUninit('float32', D * B * H) : null;
  const yv = y.data as Float32Array;
  const xt = timeMajorRows(x, attrs);
  for (let d = 0; d < D; d++) {
    const dir = directions[d];
    const gi = linear(store, xt, dir.wIh, dir.bIh);
    const zeros = dir.h0 ? null : store.alloc('float32', B * P);
    const h0 = dir.h0 ?? whole(zeros as DataId, [B, P]);
    const ids = recurrentSequence(store, whole(gi, [N, GH]), h0, dir.c0, dir.wHh, dir.bHh, dir.wHr, {
      mode,
      batchSizes,
      hiddenSize: H,
      reverse: d === 1,
      train: false,
    });
    const out = store.data(ids[0]) as Float32Array;
    // Time-major row r = t*B + b (padded) lands at b*T + t batch-first.
    for (let r = 0; r < N; r++) {
      const row = batchFirst ? (r % B) * T + Math.floor(r / B) : r;
      yv.set(out.subarray(r * P, (r + 1) * P), row * D * P + d * P);
    }
    (hN.data as Float32Array).set(store.data(ids[1]) as Float32Array, d * B * P);
    if (cN && ids[2]) (cN.data as Float32Array).set(store.data(ids[2]) as Float32Array, d * B * H);
    for (const id of [gi, zeros, ...ids]) if (id) store.dispose(id);
  }
  return [y, hN, cN];
}
