/** The fused `attention` kernel: scaled dot-product attention, one query row at a time. */
import type { DataId, TensorView } from '@ghostflow/core';
import type { CpuStore } from '../../storage.js';
import { rowMajorFloat64 } from '../../strided.js';

/**
 * The softmax step shared by the JS kernel and the wasm-GEMM one: turns the raw dot products
 * `dots` `[B, L, S]` (row-major) into the weights `w` (float32, zero-initialised): per row,
 * `scale * dot + mask` (with `causal`, -inf for keys `j > i + (S - L)`), max-subtracted exp
 * in float64, normalised; a row of all -inf keeps its zeros.
 */
export function attentionSoftmaxRows(
  dots: ArrayLike<number>,
  mask: Float64Array | null,
  w: Float32Array,
  B: number,
  L: number,
  S: number,
  attrs: { scale: number; causal: boolean },
): void {
  const row = new Float64Array(S);
  const { scale, causal } = attrs;
  const shift = S - L;
  for (let r = 0; r < B * L; r++) {
    const i = r % L;
    const ro = r * S;
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < S; j++) {
      let s = Number.NEGATIVE_INFINITY;
      if (!causal || j <= i + shift) {
        s = dots[ro + j] * scale;
        if (mask) s += mask[ro + j];
      }
      row[j] = s;
      if (s > m || Number.isNaN(s)) m = s;
    }
    // Every key masked out: zero weights (and so a zero output).
    if (m === Number.NEGATIVE_INFINITY) continue;
    let sum = 0;
    for (let j = 0; j < S; j++) {
      row[j] = Math.exp(row[j] - m);
      sum += row[j];
    }
    for (let j = 0; j < S; j++) w[ro + j] = row[j] / sum;
  }
}

/**
 * q `[B, L, E]`, k `[B, S, E]`, v `[B, S, Ev]`, mask `[B, L, S]` (additive, may be a
 * broadcast view) or null. Per query row: scores `scale * q·k + mask` (with `causal`, -inf
 * for keys `j > i + (S - L)`), a max-subtracted softmax in float64 (a row of all -inf gives
 * zero weights), then `out = weights v` from the weights rounded to float32, accumulated in
 * float64. Returns `[out [B, L, Ev], weights [B, L, S]]`.
 */
export function attention(
  store: CpuStore,
  q: TensorView,
  k: TensorView,
  v: TensorView,
  mask: TensorView | null,
  attrs: { scale: number; causal: boolean },
): [DataId, DataId] {
  const [B, L, E] = q.shape;
  const S = k.shape[1];
  const Ev = v.shape[2];
  const qd = rowMajorFloat64(store.data(q.dataId), q);
  const kd = rowMajorFloat64(store.data(k.dataId), k);
  const vd = rowMajorFloat64(store.data(v.dataId), v);
  const md = mask ? rowMajorFloat64(store.data(mask.dataId), mask) : null;
  const outData = store.alloc('float32', B * L * Ev);
  const wData = store.alloc('float32', B * L * S);
  const out = outData.data as Float32Array;
  const w = wData.data as Float32Array;
  // Raw dot products (float64); the causal part is skipped here and masked in the softmax.
  const dots = new Float64Array(B * L * S);
  const shift = S - L;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      const qo = (b * L + i) * E;
      const ro = (b * L + i) * S;
      const last = attrs.causal ? Math.min(S, i + shift + 1) : S;
      for (let j = 0; j < last; j++) {
        const ko = (b * S + j) * E;
        let dot = 0;
        for (let e = 0; e < E; e++) dot += qd[qo + e] * kd[ko + e];
        dots[ro + j] = dot;
      }
    }
  }
  attentionSoftmaxRows(dots, md, w, B, L, S, attrs);
  const acc = new Float64Array(Ev);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      const ro = (b * L + i) * S;
      acc.fill(0);
      for (let j = 0; j < S; j++) {
        const p = w[ro + j];
        if (p === 0) continue;
        const vo = (b * S + j) * Ev;
        for (let e = 0; e < Ev; e++) acc[e] += p * vd[vo + e];
      }
      const oo = (b * L + i) * Ev;
      for (let e = 0; e < Ev; e++) out[oo + e] = acc[e];
    }
  }
  return [outData, wData];
}
