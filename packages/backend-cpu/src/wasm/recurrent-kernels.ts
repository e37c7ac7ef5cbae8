/**
 * The wasm entries of the whole-sequence recurrent kernels (`recurrentSequence` and its
 * backward): operands are laid out in wasm memory once per call, the recurrent weight is
 * packed for the GEMM once, and the time loop runs inside wasm (assembly/recurrent.ts). The
 * backward's weight gradients are one GEMM each over the stacked rows (`dW_hh = dGh^T hPrev`,
 * `dW_hr = dH^T hRaw`), split over the worker threads like any large GEMM.
 */
import { type DataId, type RecurrentSequenceAttrs, type TensorView, recurrentWorkspaceSize } from '@ghostflow/core';
import type { CpuFusedTable } from '../kernel-table.js';
import { gateCount, stepOffsets, workspaceBlocks } from '../kernels/fused/recurrent-sequence.js';
import type { CpuStore } from '../storage.js';
import { rowMajorValues } from '../strided.js';
import { type WasmThresholds, runGemm } from './kernels.js';
import type { PartArgs } from './pool.js';
import { ScratchLayout, type WasmRuntime } from './runtime.js';

const PANEL = 16;
const MODE_CODES: Record<RecurrentSequenceAttrs['mode'], number> = { LSTM: 0, GRU: 1, RNN_TANH: 2, RNN_RELU: 3 };

/** Floats of `packB`'s output for a `[k, n]` matrix. */
const packed = (k: number, n: number): number => k * Math.ceil(n / PANEL) * PANEL;

/** The two recurrent entries for a runtime; `js` are the kernels they fall back to. */
export function wasmRecurrentKernels(
  rt: WasmRuntime,
  th: WasmThresholds,
  js: Readonly<Pick<CpuFusedTable, 'recurrentSequence' | 'recurrentSequenceBackward'>>,
): Pick<CpuFusedTable, 'recurrentSequence' | 'recurrentSequenceBackward'> {
  const ex = rt.exports;
  // The main thread's share of a pooled GEMM (built once, not per call).
  const localGemm = (q: PartArgs): void => ex.gemm(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11], q[12]);
  const put = (heap: Float32Array, store: CpuStore, v: TensorView, p: number): void => {
    heap.set(rowMajorValues(store.data(v.dataId), v, 'float32') as Float32Array, p / 4);
  };
  const out = (store: CpuStore, heap: Float32Array, p: number, count: number): DataId => {
    const o = store.alloc('float32', count);
    (o.data as Float32Array).set(heap.subarray(p / 4, p / 4 + count));
    return o;
  };

  function recurrentSequence(
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
    const GH = gateCount(mode) * H;
    const P = wHh.shape[1];
    const B = batchSizes[0];
    const T = batchSizes.length;
    const { rows: N } = stepOffsets(batchSizes);
    const isLSTM = mode === 'LSTM';
    const wsSize = recurrentWorkspaceSize(mode, N, H, P);
    const L = new ScratchLayout(rt);
    const pSizes = L.f32(T);
    const pGi = L.f32(N * GH);
    const pWStage = L.f32(GH * P);
    const pW = L.f32(packed(P, GH));
    const pBias = bHh ? L.f32(packed(1, GH)) : 0;
    const pWrStage = wHr ? L.f32(P * H) : 0;
    const pWr = wHr ? L.f32(packed(H, P)) : 0;
    // +PANEL: the GEMM reloads whole 16-float panel rows of its output.
    const pH = L.f32(B * P + PANEL);
    const pC = L.f32(B * H + PANEL);
    const pY = L.f32(N * P);
    const pWs = train ? L.f32(wsSize) : 0;
    const pGh = L.f32(B * GH + PANEL);
    const pHraw = L.f32(B * H + PANEL);
    const heap = rt.reserve(L.top);
    if (!heap) return js.recurrentSequence(store, gi, h0, c0, wHh, bHh, wHr, attrs);
    new Int32Array(heap.buffer, pSizes, T).set(batchSizes);
    put(heap, store, gi, pGi);
    put(heap, store, wHh, pWStage);
    // W_hh^T [P, G*H], packed once for every step.
    ex.packB(pWStage, 1, P, P, GH, pW);
    if (bHh) {
      heap.fill(0, pBias / 4, pBias / 4 + packed(1, GH));
      put(heap, store, bHh, pBias);
    }
    if (wHr) {
      put(heap, store, wHr, pWrStage);
      ex.packB(pWrStage, 1, H, H, P, pWr);
    }
    put(heap, store, h0, pH);
    if (c0) put(heap, store, c0, pC);
    else heap.fill(0, pC / 4, pC / 4 + B * H);
    ex.recurrentForward(MODE_CODES[mode], pGi, pW, pBias, pWr, pH, pC, pY, pWs, pGh, pHraw, pSizes, T, H, P, reverse ? 1 : 0);
    return [
      out(store, heap, pY, N * P),
      out(store, heap, pH, B * P),
      isLSTM ? out(store, heap, pC, B * H) : null,
      train ? out(store, heap, pWs, wsSize) : null,
    ];
  }

  function recurrentSequenceBackward(
    store: CpuStore,
    wHh: TensorView,
    wHr: TensorView | null,
    y: TensorView,
    workspace: TensorView,
    dY: TensorView,
    dHN: TensorView,
    dCN: TensorView | null,
    attrs: RecurrentSequenceAttrs & { hasBias: boolean },
  ): [DataId, DataId, DataId | null, DataId, DataId | null, DataId | null] {
    const { mode, batchSizes, hiddenSize: H, reverse } = attrs;
    const GH = gateCount(mode) * H;
    const P = wHh.shape[1];
    const B = batchSizes[0];
    const T = batchSizes.length;
    const { rows: N } = stepOffsets(batchSizes);
    const isLSTM = mode === 'LSTM';
    const isGRU = mode === 'GRU';
    const proj = wHr !== null;
    const blk = workspaceBlocks(mode, N, H, P);
    const L = new ScratchLayout(rt);
    const pSizes = L.f32(T);
    const pWStage = L.f32(GH * P);
    const pWT = L.f32(packed(GH, P));
    const pWrStage = proj ? L.f32(P * H) : 0;
    const pWrT = proj ? L.f32(packed(P, H)) : 0;
    const pY = L.f32(N * P);
    const pWs = L.f32(recurrentWorkspaceSize(mode, N, H, P));
    const pDY = L.f32(N * P);
    const pDh = L.f32(B * P + PANEL);
    const pDc = L.f32(B * H + PANEL);
    const pDGi = L.f32(N * GH);
    const pDGh = isGRU ? L.f32(N * GH) : pDGi;
    const pDHs = proj ? L.f32(N * P) : 0;
    const pG = L.f32(B * P + PANEL);
    const pDhr = L.f32(B * H + PANEL);
    // The weight-gradient GEMMs: dGh^T (and dHs^T) row-major, hPrev (and hRaw) packed.
    const pAT = L.f32(GH * N);
    const pB = L.f32(packed(N, P));
    const pDW = L.f32(GH * P + PANEL);
    const pDB = attrs.hasBias ? L.f32(GH) : 0;
    const pAT2 = proj ? L.f32(P * N) : 0;
    const pB2 = proj ? L.f32(packed(N, H)) : 0;
    const pDWr = proj ? L.f32(P * H + PANEL) : 0;
    const heap = rt.reserve(L.top);
    if (!heap) return js.recurrentSequenceBackward(store, wHh, wHr, y, workspace, dY, dHN, dCN, attrs);
    new Int32Array(heap.buffer, pSizes, T).set(batchSizes);
    put(heap, store, wHh, pWStage);
    // W_hh [G*H, P] as the right operand of dh = dGh W_hh.
    ex.packB(pWStage, P, 1, GH, P, pWT);
    if (wHr) {
      put(heap, store, wHr, pWrStage);
      ex.packB(pWrStage, H, 1, P, H, pWrT);
    }
    put(heap, store, y, pY);
    put(heap, store, workspace, pWs);
    put(heap, store, dY, pDY);
    put(heap, store, dHN, pDh);
    if (dCN) put(heap, store, dCN, pDc);
    else heap.fill(0, pDc / 4, pDc / 4 + B * H);
    ex.recurrentBackward(MODE_CODES[mode], pWT, pWrT, pY, pWs, pDY, pDh, pDc, pDGi, pDGh, pDHs, pG, pDhr, pSizes, T, H, P, reverse ? 1 : 0);
    // dW_hh = dGh^T hPrev over all N rows at once; dB_hh = the row sums of dGh^T.
    ex.packA(pDGh, 1, GH, GH, N, pAT);
    ex.packB(pWs + blk.hPrev * 4, P, 1, N, P, pB);
    runGemm(rt, th, { a: pAT, aBatch: 0, lda: N, b: pB, bBatch: 0, c: pDW, bias: 0, m: GH, n: P, k: N, batch: 1 }, localGemm);
    if (pDB) ex.sumRows(pAT, pDB, GH, N);
    if (proj) {
      ex.packA(pDHs, 1, P, P, N, pAT2);
      ex.packB(pWs + blk.hRaw * 4, H, 1, N, H, pB2);
      runGemm(rt, th, { a: pAT2, aBatch: 0, lda: N, b: pB2, bBatch: 0, c: pDWr, bias: 0, m: P, n: H, k: N, batch: 1 }, localGemm);
    }
    return [
      out(store, heap, pDGi, N * GH),
      out(store, heap, pDh, B * P),
      isLSTM ? out(store, heap, pDc, B * H) : null,
      out(store, heap, pDW, GH * P),
      pDB ? out(store, heap, pDB, GH) : null,
      proj ? out(store, heap, pDWr, P * H) : null,
    ];
  }

  return { recurrentSequence, recurrentSequenceBackward };
}
