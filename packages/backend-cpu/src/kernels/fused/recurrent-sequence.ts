/**
 * The fused whole-sequence recurrent kernels, JavaScript reference: the time loop of one
 * layer-direction (LSTM with optional projection, GRU, RNN tanh/relu) over packed rows, and
 * its backward pass. Values are computed in float64 and rounded to float32 where the
 * composition of kernels would store a tensor (the hidden gate sums, the gate sums, c', h),
 * so the results equal the per-step path's within float32 rounding.
 *
 * Workspace layout (float32, per row, blocks of N rows): LSTM gate activations `[N, 4H]`
 * (i, f, g, o), previous cell `[N, H]`, previous hidden `[N, P]`, then with a projection the
 * unprojected h `[N, H]`; GRU r, z, n `[N, 3H]`, `gh_n` `[N, H]`, previous hidden `[N, H]`;
 * RNN previous hidden `[N, H]`. The wasm kernels write the same layout.
 */
import {
  type DataId,
  type RecurrentSequenceAttrs,
  type RecurrentSequenceInputs,
  type TensorView,
  recurrentWorkspaceSize,
} from '@ghostflow/core';
import { sigmoid } from '../../math.js';
import type { CpuStore } from '../../storage.js';
import { rowMajorFloat64 } from '../../strided.js';

const f32 = Math.fround;

/** Gates per mode. */
export function gateCount(mode: RecurrentSequenceAttrs['mode']): number {
  return mode === 'LSTM' ? 4 : mode === 'GRU' ? 3 : 1;
}

/** Row offset of each step and the row count. */
export function stepOffsets(batchSizes: readonly number[]): { offsets: number[]; rows: number } {
  const offsets: number[] = [];
  let rows = 0;
  for (const n of batchSizes) {
    offsets.push(rows);
    rows += n;
  }
  return { offsets, rows };
}

/** Float offsets of the workspace blocks for N rows (see the file comment). */
export function workspaceBlocks(
  mode: RecurrentSequenceAttrs['mode'],
  rows: number,
  H: number,
  P: number,
): { acts: number; cPrev: number; ghn: number; hPrev: number; hRaw: number } {
  const N = rows;
  if (mode === 'LSTM') return { acts: 0, cPrev: N * 4 * H, ghn: -1, hPrev: N * 5 * H, hRaw: N * (5 * H + P) };
  if (mode === 'GRU') return { acts: 0, cPrev: -1, ghn: N * 3 * H, hPrev: N * 4 * H, hRaw: -1 };
  return { acts: -1, cPrev: -1, ghn: -1, hPrev: 0, hRaw: -1 };
}

const read = (store: CpuStore, v: TensorView): Float64Array => rowMajorFloat64(store.data(v.dataId), v);

/** Forward: see `FusedKernels.recurrentSequence`. */
export function recurrentSequence(
  store: CpuStore,
  gi: TensorView,
  h0: TensorView,
  c0: TensorView | null,
  wHh: TensorView,
  bHh: TensorView | null,
  wHr: TensorView | null,
  attrs: RecurrentSequenceAttrs,
): [DataId, DataId, DataId | null, DataId | null] {
  const { mode, batchSizes, hiddenSize: H, reverse, train } = attrs;
  const G = gateCount(mode);
  const GH = G * H;
  const P = wHh.shape[1];
  const B = batchSizes[0];
  const T = batchSizes.length;
  const { offsets, rows: N } = stepOffsets(batchSizes);
  const x = read(store, gi);
  const W = read(store, wHh);
  const bias = bHh ? read(store, bHh) : null;
  const Wr = wHr ? read(store, wHr) : null;
  const h = read(store, h0);
  const c = c0 ? read(store, c0) : new Float64Array(B * H);
  const yOut = store.alloc('float32', N * P);
  const y = yOut.data as Float32Array;
  const wsOut = train ? store.alloc('float32', recurrentWorkspaceSize(mode, N, H, P)) : null;
  const ws = wsOut ? (wsOut.data as Float32Array) : null;
  const blk = workspaceBlocks(mode, N, H, P);
  const gh = new Float64Array(GH);
  const hr = new Float64Array(H);
  for (let k = 0; k < T; k++) {
    const t = reverse ? T - 1 - k : k;
    for (let b = 0; b < batchSizes[t]; b++) {
      const row = offsets[t] + b;
      const hb = b * P;
      // gh = h W_hh^T + b_hh, rounded as the linear kernel stores it.
      for (let j = 0; j < GH; j++) {
        let s = bias ? bias[j] : 0;
        for (let p = 0; p < P; p++) s += W[j * P + p] * h[hb + p];
        gh[j] = f32(s);
      }
      if (ws) ws.set(h.subarray(hb, hb + P), blk.hPrev + row * P);
      const xr = row * GH;
      if (mode === 'LSTM') {
        if (ws) ws.set(c.subarray(b * H, b * H + H), blk.cPrev + row * H);
        for (let j = 0; j < H; j++) {
          const i = sigmoid(f32(x[xr + j] + gh[j]));
          const f = sigmoid(f32(x[xr + H + j] + gh[H + j]));
          const g = Math.tanh(f32(x[xr + 2 * H + j] + gh[2 * H + j]));
          const o = sigmoid(f32(x[xr + 3 * H + j] + gh[3 * H + j]));
          if (ws) {
            const a = blk.acts + row * 4 * H;
            ws[a + j] = i;
            ws[a + H + j] = f;
            ws[a + 2 * H + j] = g;
            ws[a + 3 * H + j] = o;
          }
          const cn = f32(f * c[b * H + j] + i * g);
          c[b * H + j] = cn;
          hr[j] = f32(o * Math.tanh(cn));
        }
        if (Wr) {
          if (ws) ws.set(hr, blk.hRaw + row * H);
          for (let q = 0; q < P; q++) {
            let s = 0;
            for (let j = 0; j < H; j++) s += Wr[q * H + j] * hr[j];
            h[hb + q] = f32(s);
          }
        } else h.set(hr, hb);
      } else if (mode === 'GRU') {
        for (let j = 0; j < H; j++) {
          const r = sigmoid(f32(x[xr + j] + gh[j]));
          const z = sigmoid(f32(x[xr + H + j] + gh[H + j]));
          const n = Math.tanh(f32(x[xr + 2 * H + j] + f32(r * gh[2 * H + j])));
          if (ws) {
            const a = blk.acts + row * 3 * H;
            ws[a + j] = r;
            ws[a + H + j] = z;
            ws[a + 2 * H + j] = n;
            ws[blk.ghn + row * H + j] = gh[2 * H + j];
          }
          h[hb + j] = f32((1 - z) * n + z * h[hb + j]);
        }
      } else {
        for (let j = 0; j < H; j++) {
          const pre = f32(x[xr + j] + gh[j]);
          h[hb + j] = mode === 'RNN_TANH' ? Math.tanh(pre) : pre > 0 || Number.isNaN(pre) ? pre : 0;
        }
      }
      y.set(h.subarray(hb, hb + P), row * P);
    }
  }
  const hN = store.alloc('float32', B * P);
  (hN.data as Float32Array).set(h);
  let cN: DataId | null = null;
  if (mode === 'LSTM') {
    const out = store.alloc('float32', B * H);
    (out.data as Float32Array).set(c);
    cN = out;
  }
  return [yOut, hN, cN, wsOut];
}

/** Backward: see `FusedKernels.recurrentSequenceBackward`. */
export function recurrentSequenceBackward(
  store: CpuStore,
  wHh: TensorView,
  wHr: TensorView | null,
  yView: TensorView,
  workspace: TensorView,
  dY: TensorView,
  dHN: TensorView,
  dCN: TensorView | null,
  attrs: RecurrentSequenceAttrs & { hasBias: boolean },
): [DataId, DataId, DataId | null, DataId, DataId | null, DataId | null] {
  const { mode, batchSizes, hiddenSize: H, reverse } = attrs;
  const G = gateCount(mode);
  const GH = G * H;
  const P = wHh.shape[1];
  const B = batchSizes[0];
  const T = batchSizes.length;
  const { offsets, rows: N } = stepOffsets(batchSizes);
  const W = read(store, wHh);
  const Wr = wHr ? read(store, wHr) : null;
  const y = read(store, yView);
  const ws = read(store, workspace);
  const gy = read(store, dY);
  const dh = read(store, dHN);
  const dc = dCN ? read(store, dCN) : new Float64Array(B * H);
  const blk = workspaceBlocks(mode, N, H, P);
  const dGi = new Float64Array(N * GH);
  // The hidden gate sums' gradient differs from dGi only in GRU's n gate (r * dn).
  const dGh = mode === 'GRU' ? new Float64Array(N * GH) : dGi;
  const dHs = Wr ? new Float64Array(N * P) : null;
  const g = new Float64Array(P);
  const dhr = new Float64Array(H);
  for (let k = 0; k < T; k++) {
    // The reverse of the forward's order.
    const t = reverse ? k : T - 1 - k;
    for (let b = 0; b < batchSizes[t]; b++) {
      const row = offsets[t] + b;
      for (let p = 0; p < P; p++) g[p] = gy[row * P + p] + dh[b * P + p];
      const d = row * GH;
      if (mode === 'LSTM') {
        if (Wr && dHs) {
          dHs.set(g, row * P);
          for (let j = 0; j < H; j++) {
            let s = 0;
            for (let q = 0; q < P; q++) s += g[q] * Wr[q * H + j];
            dhr[j] = s;
          }
        } else dhr.set(g);
        const a = blk.acts + row * 4 * H;
        for (let j = 0; j < H; j++) {
          const i = ws[a + j];
          const f = ws[a + H + j];
          const gg = ws[a + 2 * H + j];
          const o = ws[a + 3 * H + j];
          const cp = ws[blk.cPrev + row * H + j];
          const tc = Math.tanh(f32(f * cp + i * gg));
          const dcv = dc[b * H + j] + dhr[j] * o * (1 - tc * tc);
          dGi[d + j] = dcv * gg * i * (1 - i);
          dGi[d + H + j] = dcv * cp * f * (1 - f);
          dGi[d + 2 * H + j] = dcv * i * (1 - gg * gg);
          dGi[d + 3 * H + j] = dhr[j] * tc * o * (1 - o);
          dc[b * H + j] = dcv * f;
        }
        for (let p = 0; p < P; p++) dh[b * P + p] = 0;
      } else if (mode === 'GRU') {
        const a = blk.acts + row * 3 * H;
        for (let j = 0; j < H; j++) {
          const r = ws[a + j];
          const z = ws[a + H + j];
          const n = ws[a + 2 * H + j];
          const hp = ws[blk.hPrev + row * H + j];
          const dn = g[j] * (1 - z) * (1 - n * n);
          const dz = g[j] * (hp - n) * z * (1 - z);
          const dr = dn * ws[blk.ghn + row * H + j] * r * (1 - r);
          dGi[d + j] = dr;
          dGi[d + H + j] = dz;
          dGi[d + 2 * H + j] = dn;
          dGh[d + j] = dr;
          dGh[d + H + j] = dz;
          dGh[d + 2 * H + j] = dn * r;
          // The direct path h' = ... + z h.
          dh[b * H + j] = g[j] * z;
        }
      } else {
        for (let j = 0; j < H; j++) {
          const v = y[row * H + j];
          dGi[d + j] = g[j] * (mode === 'RNN_TANH' ? 1 - v * v : v > 0 ? 1 : 0);
          dh[b * H + j] = 0;
        }
      }
      // Through the recurrent matmul: dh += dGh W_hh.
      for (let j = 0; j < GH; j++) {
        const s = dGh[d + j];
        if (s === 0) continue;
        for (let p = 0; p < P; p++) dh[b * P + p] += s * W[j * P + p];
      }
    }
  }
  // Weight gradients: sums over every row (one product over the stacked rows).
  const dW = new Float64Array(GH * P);
  const dBias = attrs.hasBias ? new Float64Array(GH) : null;
  for (let row = 0; row < N; row++) {
    const hp = blk.hPrev + row * P;
    for (let j = 0; j < GH; j++) {
      const s = dGh[row * GH + j];
      if (dBias) dBias[j] += s;
      if (s === 0) continue;
      for (let p = 0; p < P; p++) dW[j * P + p] += s * ws[hp + p];
    }
  }
  let dWr: Float64Array | null = null;
  if (Wr && dHs) {
    dWr = new Float64Array(P * H);
    for (let row = 0; row < N; row++) {
      for (let q = 0; q < P; q++) {
        const s = dHs[row * P + q];
        for (let j = 0; j < H; j++) dWr[q * H + j] += s * ws[blk.hRaw + row * H + j];
      }
    }
  }
  const out = (values: Float64Array): DataId => {
    const o = store.alloc('float32', values.length);
    (o.data as Float32Array).set(values);
    return o;
  };
  return [out(dGi), out(dh), mode === 'LSTM' ? out(dc) : null, out(dW), dBias ? out(dBias) : null, dWr ? out(dWr) : null];
}

/**
 * Both directions of a bidirectional layer: see `FusedKernels.recurrentSequenceBidirectional`
 * (the reference runs them one after the other).
 */
export function recurrentSequenceBidirectional(
  store: CpuStore,
  forward: RecurrentSequenceInputs,
  reverse: RecurrentSequenceInputs,
  attrs: Omit<RecurrentSequenceAttrs, 'reverse'>,
): [[DataId, DataId, DataId | null, DataId | null], [DataId, DataId, DataId | null, DataId | null]] {
  const run = (d: RecurrentSequenceInputs, rev: boolean) =>
    recurrentSequence(store, d.gi, d.h0, d.c0, d.wHh, d.bHh, d.wHr, { ...attrs, reverse: rev });
  return [run(forward, false), run(reverse, true)];
}
