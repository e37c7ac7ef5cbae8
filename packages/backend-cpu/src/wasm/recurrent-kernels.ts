/**
 * The wasm entries of the whole-sequence recurrent kernels (`recurrentSequence` and its
 * backward): operands are laid out in wasm memory once per call, the recurrent weight is
 * packed for the GEMM once, and the time loop runs inside wasm (assembly/recurrent.ts), one
 * call per step (phase), split over the worker threads by hidden units when a step is large
 * enough (the threads synchronise through progress words in wasm memory). The
 * backward's weight gradients are one GEMM each over the stacked rows (`dW_hh = dGh^T hPrev`,
 * `dW_hr = dH^T hRaw`), split over the worker threads like any large GEMM.
 */
import { type DataId, type RecurrentSequenceAttrs, type TensorView, recurrentWorkspaceSize } from '@ghostflow/core';
import type { CpuFusedTable } from '../kernel-table.js';
import { gateCount, stepOffsets, workspaceBlocks } from '../kernels/fused/recurrent-sequence.js';
import type { CpuStore } from '../storage.js';
import { rowMajorValues } from '../strided.js';
import { type WasmThresholds, runGemm } from './kernels.js';
import { POOL_OP, type PartArgs, STALL_FACTOR, STALL_MIN_MS, type WorkerPool } from './pool.js';
import { ScratchLayout, type WasmRuntime } from './runtime.js';

const PANEL = 16;
/** Words of the forward operand block before the per-thread unit ranges (assembly/recurrent.ts F_*). */
const F_UNITS = 26;
const F_ABORT = 22;
const F_KIND = 23;
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
    const G = gateCount(mode);
    // Each gate's columns padded to whole 16-column panels, so that threads owning disjoint
    // hidden units compute disjoint GEMM panels.
    const Hp = Math.ceil(H / PANEL) * PANEL;
    const GHp = G * Hp;
    const P = wHh.shape[1];
    const B = batchSizes[0];
    const T = batchSizes.length;
    const { rows: N, offsets } = stepOffsets(batchSizes);
    const isLSTM = mode === 'LSTM';
    const wsSize = recurrentWorkspaceSize(mode, N, H, P);
    const threads = loopThreads(B * G * H * P, H, wHr !== null);
    const L = new ScratchLayout(rt);
    const pArgs = L.f32(F_UNITS + 2 * threads);
    const pSizes = L.f32(T);
    const pOffs = L.f32(T);
    const pProgress = L.f32(threads);
    const pGi = L.f32(N * G * H);
    const pWStage = L.f32(GHp * P);
    const pW = L.f32(packed(P, GHp));
    const pBias = bHh ? L.f32(GHp) : 0;
    const pWrStage = wHr ? L.f32(P * H) : 0;
    const pWr = wHr ? L.f32(packed(H, P)) : 0;
    const pH = L.f32(B * P);
    const pC0 = L.f32(B * H);
    const pC1 = L.f32(B * H);
    // +PANEL: the GEMM reloads whole 16-float panel rows of its output.
    const pY = L.f32(N * P + PANEL);
    const pWs = train ? L.f32(wsSize) : 0;
    const pGh = L.f32(B * GHp + PANEL);
    const pHraw = L.f32(B * H + PANEL);
    const heap = rt.reserve(L.top);
    if (!heap) return js.recurrentSequence(store, gi, h0, c0, wHh, bHh, wHr, attrs);
    const i32 = new Int32Array(heap.buffer);
    i32.set(batchSizes, pSizes / 4);
    i32.set(offsets, pOffs / 4);
    i32.fill(0, pProgress / 4, pProgress / 4 + threads);
    put(heap, store, gi, pGi);
    // W_hh^T [P, G*Hp]: the gate blocks of W_hh's rows spread to padded column blocks, packed
    // once for every step.
    const w = rowMajorValues(store.data(wHh.dataId), wHh, 'float32') as Float32Array;
    if (Hp === H) heap.set(w, pWStage / 4);
    else {
      heap.fill(0, pWStage / 4, pWStage / 4 + GHp * P);
      for (let g = 0; g < G; g++) heap.set(w.subarray(g * H * P, (g + 1) * H * P), pWStage / 4 + g * Hp * P);
    }
    ex.packB(pWStage, 1, P, P, GHp, pW);
    if (bHh) {
      const b = rowMajorValues(store.data(bHh.dataId), bHh, 'float32') as Float32Array;
      heap.fill(0, pBias / 4, pBias / 4 + GHp);
      for (let g = 0; g < G; g++) heap.set(b.subarray(g * H, (g + 1) * H), pBias / 4 + g * Hp);
    }
    if (wHr) {
      put(heap, store, wHr, pWrStage);
      ex.packB(pWrStage, 1, H, H, P, pWr);
    }
    put(heap, store, h0, pH);
    if (c0) put(heap, store, c0, pC0);
    else heap.fill(0, pC0 / 4, pC0 / 4 + B * H);
    // Rows that join late (the reverse direction) read their c0 from either buffer.
    heap.copyWithin(pC1 / 4, pC0 / 4, pC0 / 4 + B * H);
    const a = pArgs / 4;
    const words = [MODE_CODES[mode], pGi, pW, pBias, pWr, pH, pC0, pC1, pY, pWs, pGh, pHraw, pSizes, pOffs];
    i32.set(words, a);
    i32.set([T, H, Hp, P, reverse ? 1 : 0, N, pProgress, threads, 0, 0], a + words.length); // kind 0: forward
    const units = splitUnits(i32, pArgs, H, threads);
    if (threads < 2) for (let k = 0; k < T; k++) ex.recurrentPhase(pArgs, k, 0, H);
    else runThreaded(rt.workers as WorkerPool, i32, pArgs, pProgress, units, T);
    ex.recurrentForwardFinish(pArgs);
    return [
      out(store, heap, pY, N * P),
      out(store, heap, pH, B * P),
      isLSTM ? out(store, heap, pC0, B * H) : null,
      train ? out(store, heap, pWs, wsSize) : null,
    ];
  }

  /**
   * Threads for a time loop whose every step costs `stepMacs` in its recurrent GEMM:
   * one unless the step is large enough to repay a synchronisation per step, and never more
   * than there are 16-unit blocks to share (a projection keeps the loop on one thread: its
   * second GEMM needs every unit of the step). Twice the GEMM threshold: measured (A/B,
   * loaded 2-core machine) 0.82x the one-thread time for the bench's LSTM forward (8.4M
   * multiply-adds a step) but 1.13x for its BiLSTM (0.8M a step).
   */
  function loopThreads(stepMacs: number, H: number, projection: boolean): number {
    const pool = rt.workers;
    if (!pool || projection || stepMacs < th.threadMinMacs * 2) return 1;
    return Math.max(1, Math.min(pool.available() + 1, Math.ceil(H / PANEL)));
  }

  /**
   * A time loop on several threads, as `phases` phases (forward: one per step; backward:
   * two, the second of which reads every thread's first): the caller owns `units[0]`, a
   * worker each other range; a phase that reads other threads' output waits until each has
   * finished the phase before (their progress words count phases). A worker that never
   * starts, dies, fails or stalls is adopted: the caller redoes its unfinished phase (phases
   * are repeatable) and runs its range from then on.
   */
  function runThreaded(
    pool: WorkerPool,
    i32: Int32Array,
    pArgs: number,
    pProgress: number,
    units: [number, number][],
    phases: number,
  ): void {
    const prog = pProgress / 4;
    const backward = i32[pArgs / 4 + F_KIND] === 1;
    const owner: number[] = units.map((_, j) => (j === 0 ? -1 : pool.post(POOL_OP.recurrent, [pArgs, j])));
    let phaseMs = 0;
    const stallMs = () => Math.max(STALL_MIN_MS, STALL_FACTOR * phaseMs * (backward ? 2 : 1));
    // `taken`: the caller took the part back before any worker claimed it (nothing to join).
    const adopt = (j: number, q: number, taken = false): void => {
      const w = owner[j];
      owner[j] = -1;
      if (w >= 0 && !taken) pool.join(w, stallMs());
      for (let s = Atomics.load(i32, prog + j); s < q; s++) ex.recurrentPhase(pArgs, s, units[j][0], units[j][1]);
      Atomics.store(i32, prog + j, q);
      Atomics.notify(i32, prog + j);
    };
    const awaitWorker = (j: number, q: number): void => {
      const idx = prog + j;
      let spins = 0;
      let since = 0;
      for (let v = Atomics.load(i32, idx); v < q; v = Atomics.load(i32, idx)) {
        if (spins < 4000) {
          spins++;
          continue;
        }
        const now = performance.now();
        if (since === 0) since = now;
        const state = pool.partState(owner[j]);
        const waited = now - since;
        if (state === 'ended' || state === 'dead') {
          adopt(j, q);
          return;
        }
        if (state === 'unclaimed' && waited > Math.max(1, phaseMs) && pool.takeBack(owner[j])) {
          adopt(j, q, true);
          return;
        }
        if (state === 'running' && waited > stallMs()) {
          pool.abandon(owner[j]);
          adopt(j, q);
          return;
        }
        if (pool.blocking) Atomics.wait(i32, idx, v, 1);
      }
    };
    try {
      for (let q = 0; q < phases; q++) {
        if (!backward || (q & 1) === 1) for (let j = 1; j < units.length; j++) if (owner[j] >= 0) awaitWorker(j, q);
        const t0 = performance.now();
        ex.recurrentPhase(pArgs, q, units[0][0], units[0][1]);
        phaseMs = performance.now() - t0;
        for (let j = 1; j < units.length; j++) {
          if (owner[j] >= 0) continue;
          ex.recurrentPhase(pArgs, q, units[j][0], units[j][1]);
          Atomics.store(i32, prog + j, q + 1);
          Atomics.notify(i32, prog + j);
        }
        Atomics.store(i32, prog, q + 1);
        Atomics.notify(i32, prog);
      }
      // The workers' last phase.
      for (let j = 1; j < units.length; j++) if (owner[j] >= 0) awaitWorker(j, phases);
    } finally {
      // Releases any worker still waiting (only after a throw), then ends every part.
      Atomics.store(i32, pArgs / 4 + F_ABORT, 1);
      for (let j = 0; j < units.length; j++) Atomics.notify(i32, prog + j);
      for (let j = 1; j < units.length; j++) {
        const w = owner[j];
        if (w >= 0 && !pool.join(w, stallMs())) adopt(j, phases);
      }
    }
  }

  /** Unit ranges per thread (whole 16-unit blocks, the last one possibly short) into the operand block. */
  function splitUnits(i32: Int32Array, pArgs: number, H: number, threads: number): [number, number][] {
    const chunks = Math.ceil(H / PANEL);
    const units: [number, number][] = [];
    for (let j = 0; j < threads; j++) {
      const u0 = Math.floor((chunks * j) / threads) * PANEL;
      const u1 = Math.min(H, Math.floor((chunks * (j + 1)) / threads) * PANEL);
      units.push([u0, u1]);
      i32.set([u0, u1], pArgs / 4 + F_UNITS + 2 * j);
    }
    return units;
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
    const { rows: N, offsets } = stepOffsets(batchSizes);
    const isLSTM = mode === 'LSTM';
    const isGRU = mode === 'GRU';
    const proj = wHr !== null;
    const blk = workspaceBlocks(mode, N, H, P);
    const threads = loopThreads(B * GH * P, H, proj);
    const L = new ScratchLayout(rt);
    const pArgs = L.f32(F_UNITS + 2 * threads);
    const pSizes = L.f32(T);
    const pOffs = L.f32(T);
    const pProgress = L.f32(threads);
    const pWStage = L.f32(GH * P);
    const pWT = L.f32(packed(GH, P));
    const pWrStage = proj ? L.f32(P * H) : 0;
    const pWrT = proj ? L.f32(packed(P, H)) : 0;
    const pY = L.f32(N * P);
    const pWs = L.f32(recurrentWorkspaceSize(mode, N, H, P));
    const pDY = L.f32(N * P);
    // Two buffers each for dh and dc: steps alternate (each a pure function of the last).
    const pDh = L.f32(B * P + PANEL);
    const pDh1 = L.f32(B * P + PANEL);
    const pDc = L.f32(B * H + PANEL);
    const pDc1 = L.f32(B * H + PANEL);
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
    const i32 = new Int32Array(heap.buffer);
    i32.set(batchSizes, pSizes / 4);
    i32.set(offsets, pOffs / 4);
    i32.fill(0, pProgress / 4, pProgress / 4 + threads);
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
    // Rows that join late (the forward direction's backward) read dHN / dCN from either buffer.
    heap.copyWithin(pDh1 / 4, pDh / 4, pDh / 4 + B * P);
    heap.copyWithin(pDc1 / 4, pDc / 4, pDc / 4 + B * H);
    const block = new Array<number>(F_UNITS).fill(0);
    block[0] = MODE_CODES[mode];
    [block[1], block[2], block[3], block[4], block[5], block[6], block[7]] = [pWT, pDY, pDGi, pWrT, pDh, pDc, pDc1];
    [block[8], block[9], block[10], block[11], block[12], block[13]] = [pY, pWs, pDGh, pG, pSizes, pOffs];
    [block[14], block[15], block[16], block[17], block[18], block[19]] = [T, H, pDh1, P, reverse ? 1 : 0, N];
    [block[20], block[21], block[22], block[F_KIND], block[24], block[25]] = [pProgress, threads, 0, 1, pDHs, pDhr];
    i32.set(block, pArgs / 4);
    const units = splitUnits(i32, pArgs, H, threads);
    if (threads < 2) for (let q = 0; q < 2 * T; q++) ex.recurrentPhase(pArgs, q, 0, H);
    else runThreaded(rt.workers as WorkerPool, i32, pArgs, pProgress, units, 2 * T);
    ex.recurrentBackwardFinish(pArgs);
    // dW_hh = dGh^T hPrev over all N rows at once; dB_hh = the row sums of dGh^T.
    ex.packA(pDGh, 1, GH, GH, N, pAT);
    ex.packB(pWs + blk.hPrev * 4, P, 1, N, P, pB);
    runGemm(rt, th, { a: pAT, aBatch: 0, lda: N, b: pB, bBatch: 0, c: pDW, bias: 0, m: GH, n: P, k: N, batch: 1 });
    if (pDB) ex.sumRows(pAT, pDB, GH, N);
    if (proj) {
      ex.packA(pDHs, 1, P, P, N, pAT2);
      ex.packB(pWs + blk.hRaw * 4, H, 1, N, H, pB2);
      runGemm(rt, th, { a: pAT2, aBatch: 0, lda: N, b: pB2, bBatch: 0, c: pDWr, bias: 0, m: P, n: H, k: N, batch: 1 });
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
