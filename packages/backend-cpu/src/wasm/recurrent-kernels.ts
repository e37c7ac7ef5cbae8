/**
 * The wasm entries of the whole-sequence recurrent kernels (`recurrentSequence` and its
 * backward): operands are planned through a {@link KernelCall} (resident contiguous tensors
 * are read where they are, anything else is copied into scratch; outputs are heap blocks
 * handed over without a copy), the recurrent weight is packed for the GEMM once (and kept
 * packed across calls in the packed cache while it is unchanged), and the time loop runs
 * inside wasm (assembly/recurrent.ts), one
 * call per step (phase). A forward or backward over a large enough batch is split over the
 * worker threads by batch rows (each row group's whole time loop on one thread: rows never
 * read each other, so the threads meet only at the end); otherwise a step is split by hidden units when it is
 * large enough (the threads synchronise once per step through progress words in wasm memory). The
 * backward's weight gradients are one GEMM each over the stacked rows (`dW_hh = dGh^T hPrev`,
 * `dW_hr = dH^T hRaw`), split over the worker threads like any large GEMM. The fused layer
 * (`recurrentLayer`, inference) plans its directions as forward sequences that write into
 * their columns of the layer's output, with batch-first rows read and written in place (row
 * strides in the operand block); paired on two threads, each thread also projects its
 * direction's input at step 0.
 */
import {
  type DataId,
  type RecurrentLayerAttrs,
  type RecurrentLayerDirection,
  type RecurrentSequenceAttrs,
  type RecurrentSequenceInputs,
  type TensorView,
  recurrentWorkspaceSize,
} from '@ghostflow/core';
import type { CpuFusedTable } from '../kernel-table.js';
import { gateCount, stepOffsets, workspaceBlocks } from '../kernels/fused/recurrent-sequence.js';
import type { CpuStore } from '../storage.js';
import { rowMajorValues } from '../strided.js';
import { KernelCall } from './call.js';
import { type WasmThresholds, runGemm } from './kernels.js';
import type { PackedCache } from './packed-cache.js';
import { POOL_OP, STALL_FACTOR, STALL_MIN_MS, type WorkerPool } from './pool.js';
import { type RecurrentLoop, recurrentSplitPays } from './recurrent-split.js';
import type { WasmRuntime } from './runtime.js';

const PANEL = 16;
/** Words of the forward operand block before the per-thread unit ranges (assembly/recurrent.ts F_*). */
const F_UNITS = 32;
const F_ABORT = 22;
const F_KIND = 23;
/** Fewest batch rows a row group of a forward sequence gets (see rowGroups). */
const ROW_GROUP_MIN = 4;
/**
 * Largest packed recurrent weight (bytes) for which a forward splits by rows (see rowGroups):
 * about a core's L2, where the bench's LSTM H 256 (1 MiB) gained.
 */
const ROW_GROUP_MAX_WEIGHT = 2 * 1024 * 1024;
const MODE_CODES: Record<RecurrentSequenceAttrs['mode'], number> = { LSTM: 0, GRU: 1, RNN_TANH: 2, RNN_RELU: 3 };

/** The kernels this file implements. */
type RecurrentEntry = 'recurrentSequence' | 'recurrentSequenceBackward' | 'recurrentSequenceBidirectional' | 'recurrentLayer';

/** A weight's packed region from the cache: `hit` (packed already), `fill` (pack into it) or neither (0, 0). */
interface CachedPack {
  hit: number;
  fill: number;
  key: string;
}

/** Floats of `packB`'s output for a `[k, n]` matrix. */
const packed = (k: number, n: number): number => k * Math.ceil(n / PANEL) * PANEL;

/**
 * The recurrent entries for a runtime; `js` are the kernels they fall back to, `cache` the
 * backend's packed-operand cache (null: the weights are packed at every call), `linear` the
 * kernel a fused layer's input projections run through (the wasm one; default js's).
 */
export function wasmRecurrentKernels(
  rt: WasmRuntime,
  th: WasmThresholds,
  js: Readonly<Pick<CpuFusedTable, RecurrentEntry | 'linear'>>,
  cache: PackedCache | null = null,
  linear: CpuFusedTable['linear'] = js.linear,
): Pick<CpuFusedTable, RecurrentEntry> {
  const ex = rt.exports;
  // Its own call object: the GEMMs this file runs are planned into the same call, never
  // through the other kernels' one.
  const call = new KernelCall(rt);
  let i32 = new Int32Array(0);
  /** The memory's i32 view after `call.commit()` (re-made when the memory grew). */
  const words = (): Int32Array => {
    const heap = call.heap;
    if (i32.buffer !== heap.buffer || i32.length !== heap.length) i32 = new Int32Array(heap.buffer, heap.byteOffset, heap.length);
    return i32;
  };

  /**
   * A weight packed through the cache: the region holding it packed (`hit`), or a region to
   * pack it into that the cache keeps (`fill`), or neither (pack into scratch). Call before
   * `call.begin()`: a new cache region moves the scratch floor up.
   */
  const cached = (store: CpuStore, v: TensorView, key: string, bytes: number): CachedPack => {
    if (!cache) return { hit: 0, fill: 0, key };
    const buf = store.buffer(v.dataId);
    const k = `${key},${v.offset},${v.strides.join(',')}`;
    const hit = cache.get(buf, k);
    return { hit, fill: hit ? 0 : cache.reserve(buf, k, bytes), key: k };
  };

  /** A forward sequence planned into `call`: the byte offsets of its operand block and buffers. */
  interface ForwardPlan {
    attrs: RecurrentSequenceAttrs;
    G: number;
    H: number;
    Hp: number;
    P: number;
    B: number;
    T: number;
    N: number;
    offsets: number[];
    threads: number;
    wsSize: number;
    w: CachedPack;
    wr: CachedPack | null;
    pArgs: number;
    pSizes: number;
    pOffs: number;
    pProgress: number;
    pGi: number;
    pWSrc: number;
    pW: number;
    pBias: number;
    pWrSrc: number;
    pWr: number;
    pH0: number;
    pC0Src: number;
    pH: number;
    pC0: number;
    pC1: number;
    pY: number;
    pWs: number;
    pGh: number;
    pHraw: number;
    /** The row groups' operand blocks (one: the whole batch, possibly split by units). */
    blocks: RowBlock[];
    /** Row layout of gi and y (assembly/recurrent.ts F_BSTRIDE, F_GISTRIDE, F_YSTRIDE). */
    layout: { bStride: number; giStride: number; yStride: number };
    /** gi is computed by the loop's thread. */
    proj: Projection | null;
  }

  /** The operands of one forward sequence: `recurrentSequence`'s, with h0 optional (null: zeros). */
  type ForwardInputs = Omit<RecurrentSequenceInputs, 'h0' | 'gi'> & { h0: TensorView | null; gi: TensorView | null };

  /**
   * Where one direction of a fused layer writes: its columns of the layer's output y (row
   * stride `yStride` floats) and its `[B, P]` / `[B, H]` parts of the stacked hN and cN.
   */
  interface LayerSlot {
    pY: number;
    yStride: number;
    pH: number;
    pC: number;
    batchFirst: boolean;
    /** The loop's thread computes gi itself (assembly/recurrent.ts F_X): gi is then null. */
    proj: Projection | null;
  }

  /** A direction's input projection run by its own loop thread: x, W_ih^T packed (from the cache), b_ih. */
  interface Projection {
    x: TensorView;
    wIh: TensorView;
    bIh: TensorView | null;
    pack: CachedPack;
    /** Planned by planForward. */
    pX?: number;
    pWSrc?: number;
    pW?: number;
    pBias?: number;
  }

  /**
   * One row group's own forward sequence over batch rows [r0, r1): its operand block,
   * batch sizes and row offsets (clipped to its rows), progress word and scratch (forward:
   * the recurrent GEMM's `pGh` and unprojected h `pHraw`; backward: the gradient reaching h
   * and its unprojected part, B_G and B_DHR). Rows of a recurrent layer never read each
   * other, so groups run their whole time loops on different threads with no meeting per step.
   */
  interface RowBlock {
    r0: number;
    r1: number;
    pArgs: number;
    pSizes: number;
    pOffs: number;
    pProgress: number;
    pGh: number;
    pHraw: number;
  }

  /**
   * The row groups of a call split by rows: group g owns rows [floor(B g / groups),
   * floor(B (g + 1) / groups)); the first uses `first`'s blocks, every other group gets its
   * own operand block, batch sizes, row offsets and progress word, and two scratch blocks of
   * `scratch(rows)` floats (forward: gh and the unprojected h; backward: g and dhr).
   */
  function rowBlocks(
    B: number,
    T: number,
    groups: number,
    first: Omit<RowBlock, 'r0' | 'r1'>,
    scratch: (rows: number) => [number, number],
  ): RowBlock[] {
    const blocks: RowBlock[] = [];
    for (let g = 0; g < groups; g++) {
      const r0 = Math.floor((B * g) / groups);
      const r1 = Math.floor((B * (g + 1)) / groups);
      if (g === 0) {
        const { pArgs, pSizes, pOffs, pProgress, pGh, pHraw } = first;
        blocks.push({ r0, r1, pArgs, pSizes, pOffs, pProgress, pGh, pHraw });
        continue;
      }
      const [gh, hraw] = scratch(r1 - r0);
      blocks.push({
        r0,
        r1,
        pArgs: call.alloc(F_UNITS + 2),
        pSizes: call.alloc(T),
        pOffs: call.alloc(T),
        pProgress: call.alloc(1),
        pGh: call.alloc(gh),
        pHraw: call.alloc(hraw),
      });
    }
    return blocks;
  }

  /**
   * The packed weights of a forward call from the cache (call before `call.begin()`: a new
   * cache region moves the scratch floor up).
   */
  function cachedWeights(store: CpuStore, d: ForwardInputs, G: number, H: number): [CachedPack, CachedPack | null] {
    const Hp = Math.ceil(H / PANEL) * PANEL;
    const P = d.wHh.shape[1];
    // W_hh^T [P, G*Hp] packed (each gate's columns padded), and W_hr^T [H, P].
    const w = cached(store, d.wHh, `rnnW,${G},${H}`, packed(P, G * Hp) * 4);
    const wr = d.wHr ? cached(store, d.wHr, 'rnnWr', packed(H, P) * 4) : null;
    return [w, wr];
  }

  /**
   * Plans a forward call's operands, outputs and scratch into `call` (after `call.begin()`).
   * With `slot` (a direction of a fused layer) y, hN and cN are regions of the layer's
   * outputs and the rows may be batch-first; otherwise they are outputs of their own.
   */
  function planForward(
    store: CpuStore,
    d: ForwardInputs,
    attrs: RecurrentSequenceAttrs,
    threads: number,
    [w, wr]: [CachedPack, CachedPack | null],
    groups = 1,
    slot: LayerSlot | null = null,
  ): ForwardPlan {
    const { mode, batchSizes, hiddenSize: H, train } = attrs;
    const G = gateCount(mode);
    // Each gate's columns padded to whole 16-column panels, so that threads owning disjoint
    // hidden units compute disjoint GEMM panels.
    const Hp = Math.ceil(H / PANEL) * PANEL;
    const GHp = G * Hp;
    const P = d.wHh.shape[1];
    const B = batchSizes[0];
    const T = batchSizes.length;
    const { rows: N, offsets: packedOffsets } = stepOffsets(batchSizes);
    // Batch-first rows: step t's entry b is row b*T + t.
    const offsets = slot?.batchFirst ? batchSizes.map((_, t) => t) : packedOffsets;
    const isLSTM = mode === 'LSTM';
    const wsSize = recurrentWorkspaceSize(mode, N, H, P);
    const pArgs = call.alloc(F_UNITS + 2 * threads);
    const pSizes = call.alloc(T);
    const pOffs = call.alloc(T);
    const pProgress = call.alloc(threads);
    // Inputs the loop only reads: where they are when resident and contiguous.
    const gi = d.gi;
    let pGi: number;
    const proj = slot?.proj ?? null;
    if (gi === null) {
      if (!proj) throw new Error('internal: a forward sequence without gi nor its projection');
      // gi computed by the loop's thread (the GEMM reads its output 16 floats past the end).
      const I = proj.x.shape[1];
      proj.pX = call.view(store, proj.x);
      proj.pWSrc = proj.pack.hit ? 0 : call.view(store, proj.wIh);
      proj.pW = proj.pack.hit || proj.pack.fill || call.alloc(packed(I, G * H));
      proj.pBias = proj.bIh ? ((G * H) % PANEL === 0 ? call.view(store, proj.bIh) : call.alloc(Math.ceil((G * H) / PANEL) * PANEL)) : 0;
      pGi = call.alloc(N * G * H + PANEL);
    } else {
      pGi = call.view(store, gi);
    }
    const pWSrc = w.hit ? 0 : call.view(store, d.wHh);
    const pW = w.hit || w.fill || call.alloc(packed(P, GHp));
    // b_hh padded like W's columns (as it is when H is a multiple of 16).
    const pBias = d.bHh ? (Hp === H ? call.view(store, d.bHh) : call.alloc(GHp)) : 0;
    const pWrSrc = d.wHr && wr && !wr.hit ? call.view(store, d.wHr) : 0;
    const pWr = wr ? wr.hit || wr.fill || call.alloc(packed(H, P)) : 0;
    // The states are updated in place (hN, cN end up there): outputs that start as copies of h0, c0.
    const pH0 = d.h0 ? call.view(store, d.h0) : 0;
    const pC0Src = d.c0 ? call.view(store, d.c0) : 0;
    const pH = slot ? slot.pH : call.out(B * P);
    const pC0 = slot && isLSTM ? slot.pC : isLSTM ? call.out(B * H) : call.alloc(B * H);
    const pC1 = call.alloc(B * H);
    // +PANEL: the GEMM reloads whole 16-float panel rows of its output.
    const pY = slot ? slot.pY : call.out(N * P, PANEL);
    const pWs = train ? call.out(wsSize) : 0;
    const pGh = call.alloc(B * GHp + PANEL);
    const pHraw = call.alloc(B * H + PANEL);
    // The first group uses the blocks above (whose scratch is sized for the whole batch).
    const blocks = rowBlocks(B, T, groups, { pArgs, pSizes, pOffs, pProgress, pGh, pHraw }, (rows) => [
      rows * GHp + PANEL,
      rows * H + PANEL,
    ]);
    const layout = { bStride: slot?.batchFirst ? T : 1, giStride: G * H, yStride: slot ? slot.yStride : P };
    // One literal: spreading object literals built a dictionary-mode object on every call
    // (13.5% of a batch-1 GRU decode step's CPU time in a V8 profile).
    // biome-ignore format: one line per group of fields reads better than one per field
    return { attrs, G, H, Hp, P, B, T, N, offsets, threads, wsSize, w, wr, pArgs, pSizes, pOffs, pProgress, pGi, pWSrc, pW,
      pBias, pWrSrc, pWr, pH0, pC0Src, pH, pC0, pC1, pY, pWs, pGh, pHraw, blocks, layout, proj };
  }

  /** Gives back the cache regions a plan reserved (its call fell back before filling them). */
  function abandonForward(store: CpuStore, d: ForwardInputs, p: ForwardPlan): void {
    if (p.proj?.pack.fill) cache?.abandon(store.buffer(p.proj.wIh.dataId), p.proj.pack.key);
    if (p.w.fill) cache?.abandon(store.buffer(d.wHh.dataId), p.w.key);
    if (p.wr?.fill) cache?.abandon(store.buffer((d.wHr as TensorView).dataId), p.wr.key);
  }

  /**
   * After `call.commit()`: writes the operand blocks (one per row group), packs the weights,
   * starts the states; the unit ranges of the first block's threads.
   */
  function setupForward(store: CpuStore, d: ForwardInputs, p: ForwardPlan): [number, number][] {
    const { G, H, Hp, P, B } = p;
    const heap = call.heap;
    // One gate at a time: packB zero-pads each gate's last panel.
    if (!p.w.hit) for (let g = 0; g < G; g++) ex.packB(p.pWSrc + g * H * P * 4, 1, P, P, H, p.pW + g * Hp * P * 4);
    if (d.bHh && Hp !== H) {
      const b = rowMajorValues(store.data(d.bHh.dataId), d.bHh, 'float32') as Float32Array;
      heap.fill(0, p.pBias / 4, p.pBias / 4 + G * Hp);
      for (let g = 0; g < G; g++) heap.set(b.subarray(g * H, (g + 1) * H), p.pBias / 4 + g * Hp);
    }
    if (p.wr && !p.wr.hit) ex.packB(p.pWrSrc, 1, H, H, P, p.pWr);
    const proj = p.proj;
    if (proj) {
      // W_ih^T [I, G*H] packed; b_ih padded to whole panels when G*H is not.
      const I = proj.x.shape[1];
      const GH = G * H;
      if (!proj.pack.hit) ex.packB(proj.pWSrc as number, 1, I, I, GH, proj.pW as number);
      if (proj.bIh && GH % PANEL !== 0) {
        const b = rowMajorValues(store.data(proj.bIh.dataId), proj.bIh, 'float32') as Float32Array;
        heap.set(b, (proj.pBias as number) / 4);
        heap.fill(0, (proj.pBias as number) / 4 + GH, (proj.pBias as number) / 4 + Math.ceil(GH / PANEL) * PANEL);
      }
    }
    if (d.h0) heap.copyWithin(p.pH / 4, p.pH0 / 4, p.pH0 / 4 + B * P);
    else heap.fill(0, p.pH / 4, p.pH / 4 + B * P);
    if (d.c0) heap.copyWithin(p.pC0 / 4, p.pC0Src / 4, p.pC0Src / 4 + B * H);
    else heap.fill(0, p.pC0 / 4, p.pC0 / 4 + B * H);
    // Rows that join late (the reverse direction) read their c0 from either buffer.
    heap.copyWithin(p.pC1 / 4, p.pC0 / 4, p.pC0 / 4 + B * H);
    const i32 = words();
    for (const b of p.blocks) writeForwardBlock(i32, p, b, p.blocks.length > 1 ? 1 : p.threads);
    return splitUnits(i32, p.pArgs, H, p.blocks.length > 1 ? 1 : p.threads);
  }

  /**
   * A row group's operand block: the batch sizes and row offsets clipped to rows [r0, r1)
   * (a step without any of them does nothing), the states from row r0 on; the workspace
   * and the outputs are indexed by global row through the offsets.
   */
  function writeForwardBlock(i32: Int32Array, p: ForwardPlan, b: RowBlock, threads: number): void {
    const { H, Hp, P, T, N } = p;
    const whole = b.r0 === 0 && b.r1 === p.B;
    const sizes = whole ? p.attrs.batchSizes : p.attrs.batchSizes.map((n) => Math.max(0, Math.min(n, b.r1) - b.r0));
    i32.set(sizes, b.pSizes / 4);
    const { bStride, giStride, yStride } = p.layout;
    i32.set(whole ? p.offsets : p.offsets.map((o) => o + b.r0 * bStride), b.pOffs / 4);
    i32.fill(0, b.pProgress / 4, b.pProgress / 4 + threads);
    const block = [
      MODE_CODES[p.attrs.mode],
      p.pGi,
      p.pW,
      p.pBias,
      p.pWr,
      p.pH + b.r0 * P * 4,
      p.pC0 + b.r0 * H * 4,
      p.pC1 + b.r0 * H * 4,
      p.pY,
      p.pWs,
      b.pGh,
      b.pHraw,
      b.pSizes,
      b.pOffs,
    ];
    i32.set(block, b.pArgs / 4);
    // Kind 0: forward; then the row layout and the projection (the whole batch's, on its one thread).
    const proj = p.proj && whole && threads === 1 ? p.proj : null;
    const projWords = proj ? [proj.pX as number, proj.pW as number, proj.pBias as number, proj.x.shape[1]] : [0, 0, 0, 0];
    i32.set(
      [T, H, Hp, P, p.attrs.reverse ? 1 : 0, N, b.pProgress, threads, 0, 0, bStride, giStride, yStride, ...projWords, 0],
      b.pArgs / 4 + block.length,
    );
    // A row group's one thread owns every unit (the first block's ranges: splitUnits).
    if (threads === 1) i32.set([0, H], b.pArgs / 4 + F_UNITS);
  }

  /** The outputs of a finished forward call, handed over. */
  function takeForward(store: CpuStore, p: ForwardPlan): [DataId, DataId, DataId | null, DataId | null] {
    return [
      call.take(store, p.pY, p.N * p.P),
      call.take(store, p.pH, p.B * p.P),
      p.attrs.mode === 'LSTM' ? call.take(store, p.pC0, p.B * p.H) : null,
      p.attrs.train ? call.take(store, p.pWs, p.wsSize) : null,
    ];
  }

  /**
   * How a forward sequence is split over threads: row groups (each group's whole loop on
   * one thread), else threads sharing each step by units (see rowGroups, loopThreads).
   */
  function forwardSplit(attrs: RecurrentSequenceAttrs, wHh: TensorView, projection: boolean): { groups: number; threads: number } {
    const G = gateCount(attrs.mode);
    const H = attrs.hiddenSize;
    const stepMacs = attrs.batchSizes[0] * G * H * wHh.shape[1];
    const wBytes = packed(wHh.shape[1], G * Math.ceil(H / PANEL) * PANEL) * 4;
    const groups = rowGroups('forward', attrs.batchSizes[0], stepMacs * attrs.batchSizes.length, wBytes);
    return { groups, threads: groups > 1 ? 1 : loopThreads('forward', stepMacs, H, projection) };
  }

  /** Runs a planned, set-up forward sequence as `forwardSplit` said, then its finish. */
  function runForward(p: ForwardPlan, groups: number, threads: number, units: [number, number][]): void {
    const oneThread = (pArgs: number) => () => {
      for (let k = 0; k < p.T; k++) ex.recurrentPhase(pArgs, k, 0, p.H);
    };
    if (groups > 1) alongside(rt.workers as WorkerPool, p.blocks.slice(1), p.T, p.H, oneThread(p.pArgs));
    else if (threads < 2) oneThread(p.pArgs)();
    else runThreaded(rt.workers as WorkerPool, words(), p.pArgs, p.pProgress, units, p.T);
    for (const b of p.blocks) ex.recurrentForwardFinish(b.pArgs);
  }

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
    const d: RecurrentSequenceInputs = { gi, h0, c0, wHh, bHh, wHr };
    const G = gateCount(attrs.mode);
    const { groups, threads } = forwardSplit(attrs, wHh, wHr !== null);
    const weights = cachedWeights(store, d, G, attrs.hiddenSize);
    call.begin();
    const p = planForward(store, d, attrs, threads, weights, groups);
    if (!call.commit()) {
      abandonForward(store, d, p);
      return js.recurrentSequence(store, gi, h0, c0, wHh, bHh, wHr, attrs);
    }
    runForward(p, groups, threads, setupForward(store, d, p));
    return takeForward(store, p);
  }

  /**
   * A whole layer in inference: each direction's input projection through the backend's
   * `linear` (its GEMM, threads and packed-weight cache; gi rows in x's order), then the time
   * loops writing straight into the layer's outputs: y `[N, D*P]` with each direction in its
   * columns, in x's row order (batch-first rows read and written with their strides), hN and
   * cN stacked. Two directions run at once (the reverse on a worker) when one is ready, as in
   * {@link recurrentSequenceBidirectional}; otherwise each is split as a sequence of its own.
   */
  function recurrentLayer(
    store: CpuStore,
    x: TensorView,
    dirs: readonly RecurrentLayerDirection[],
    attrs: RecurrentLayerAttrs,
  ): [DataId, DataId, DataId | null] {
    const { mode, batchSizes, hiddenSize: H, batchFirst } = attrs;
    const G = gateCount(mode);
    const D = dirs.length;
    const P = dirs[0].wHh.shape[1];
    const B = batchSizes[0];
    const T = batchSizes.length;
    const N = stepOffsets(batchSizes).rows;
    const GH = G * H;
    const I = x.shape[1];
    const pool = rt.workers;
    const macs = B * GH * P * T;
    // Two directions at once: each thread also projects its own direction's input (no GEMM
    // split of its own). Otherwise the projections are the backend's linear, threaded alone.
    const pair = D === 2 && pool !== null && recurrentSplitPays('rows', 'forward', macs, th.threadMinMacs) && pool.available() >= 1;
    const gis = pair ? [] : dirs.map((d) => linear(store, x, d.wIh, d.bIh));
    try {
      const projs: (Projection | null)[] = dirs.map((d) =>
        pair ? { x, wIh: d.wIh, bIh: d.bIh, pack: cached(store, d.wIh, `rnnWih,${GH}`, packed(I, GH) * 4) } : null,
      );
      const inputs: ForwardInputs[] = dirs.map((d, i) => ({
        gi: pair ? null : { dataId: gis[i], dtype: 'float32', shape: [N, GH], strides: [GH, 1], offset: 0 },
        h0: d.h0,
        c0: d.c0,
        wHh: d.wHh,
        bHh: d.bHh,
        wHr: d.wHr,
      }));
      const seqAttrs = dirs.map((_, i): RecurrentSequenceAttrs => ({ mode, batchSizes, hiddenSize: H, reverse: i === 1, train: false }));
      const splits = inputs.map((d, i) => (pair ? { groups: 1, threads: 1 } : forwardSplit(seqAttrs[i], d.wHh, d.wHr !== null)));
      const weights = inputs.map((d) => cachedWeights(store, d, G, H));
      call.begin();
      const pY = call.out(N * D * P, PANEL);
      const pH = call.out(D * B * P);
      const pC = mode === 'LSTM' ? call.out(D * B * H) : 0;
      const plans = inputs.map((d, i) =>
        planForward(store, d, seqAttrs[i], splits[i].threads, weights[i], splits[i].groups, {
          pY: pY + i * P * 4,
          yStride: D * P,
          pH: pH + i * B * P * 4,
          pC: pC ? pC + i * B * H * 4 : 0,
          batchFirst,
          proj: projs[i],
        }),
      );
      if (!call.commit()) {
        plans.forEach((p, i) => abandonForward(store, inputs[i], p));
        return js.recurrentLayer(store, x, dirs, attrs);
      }
      const units = plans.map((p, i) => setupForward(store, inputs[i], p));
      if (pair) {
        const [pf, pr] = plans;
        alongside(pool as WorkerPool, [pr], T, H, () => {
          for (let k = 0; k < T; k++) ex.recurrentPhase(pf.pArgs, k, 0, H);
        });
        for (const p of plans) ex.recurrentForwardFinish(p.pArgs);
      } else {
        plans.forEach((p, i) => runForward(p, splits[i].groups, splits[i].threads, units[i]));
      }
      return [call.take(store, pY, N * D * P), call.take(store, pH, D * B * P), pC ? call.take(store, pC, D * B * H) : null];
    } finally {
      for (const id of gis) store.dispose(id);
    }
  }

  /**
   * Both directions at once when a worker is ready: the reverse direction's whole time loop
   * on a worker, the forward's on the caller (no per-step meeting: the two loops share
   * nothing), each on one thread; otherwise one after the other as two calls.
   */
  function recurrentSequenceBidirectional(
    store: CpuStore,
    fwd: RecurrentSequenceInputs,
    rev: RecurrentSequenceInputs,
    attrs: Omit<RecurrentSequenceAttrs, 'reverse'>,
  ): [[DataId, DataId, DataId | null, DataId | null], [DataId, DataId, DataId | null, DataId | null]] {
    const af: RecurrentSequenceAttrs = { ...attrs, reverse: false };
    const ar: RecurrentSequenceAttrs = { ...attrs, reverse: true };
    const pool = rt.workers;
    const G = gateCount(attrs.mode);
    const H = attrs.hiddenSize;
    const macs = attrs.batchSizes[0] * G * H * fwd.wHh.shape[1] * attrs.batchSizes.length;
    if (!pool || !recurrentSplitPays('rows', 'forward', macs, th.threadMinMacs) || pool.available() < 1) {
      const one = (d: RecurrentSequenceInputs, a: RecurrentSequenceAttrs) =>
        recurrentSequence(store, d.gi, d.h0, d.c0, d.wHh, d.bHh, d.wHr, a);
      return [one(fwd, af), one(rev, ar)];
    }
    const wf = cachedWeights(store, fwd, G, H);
    const wr = cachedWeights(store, rev, G, H);
    call.begin();
    const pf = planForward(store, fwd, af, 1, wf);
    const pr = planForward(store, rev, ar, 1, wr);
    if (!call.commit()) {
      abandonForward(store, fwd, pf);
      abandonForward(store, rev, pr);
      return js.recurrentSequenceBidirectional(store, fwd, rev, attrs);
    }
    setupForward(store, fwd, pf);
    setupForward(store, rev, pr);
    alongside(pool, [pr], pr.T, H, () => {
      for (let k = 0; k < pf.T; k++) ex.recurrentPhase(pf.pArgs, k, 0, H);
    });
    ex.recurrentForwardFinish(pf.pArgs);
    ex.recurrentForwardFinish(pr.pArgs);
    return [takeForward(store, pf), takeForward(store, pr)];
  }

  /**
   * Runs one-thread sequences (each `phases` phases over units [0, H)) on workers, one
   * each, while the caller runs `local`, then waits for them. A sequence no worker is ready
   * for runs on the caller after `local`; a worker that never starts, dies, fails or stops
   * making progress is adopted: the caller runs the phases it has not finished (phases are
   * repeatable).
   */
  function alongside(
    pool: WorkerPool,
    seqs: readonly { pArgs: number; pProgress: number }[],
    phases: number,
    H: number,
    local: () => void,
  ): void {
    const posted = seqs.map((q) => pool.post(POOL_OP.recurrent, [q.pArgs, 0]));
    const t0 = performance.now();
    let phaseMs = 0;
    const stallMs = () => Math.max(STALL_MIN_MS, STALL_FACTOR * phaseMs);
    const rest = (q: { pArgs: number; pProgress: number }): void => {
      const i32 = words();
      const idx = q.pProgress / 4;
      for (let s = Atomics.load(i32, idx); s < phases; s++) ex.recurrentPhase(q.pArgs, s, 0, H);
      Atomics.store(i32, idx, phases);
    };
    try {
      local();
      // The local loop's time per phase: every sequence does about the same work.
      phaseMs = (performance.now() - t0) / Math.max(1, phases);
      for (let j = 0; j < seqs.length; j++) {
        // No worker took it: the caller runs it all (after finally).
        if (posted[j] >= 0) posted[j] = awaitSequence(pool, posted[j], seqs[j].pProgress / 4, phases, phaseMs, stallMs);
      }
    } finally {
      // A part still posted (after a throw) is told to stop, then ended; what it left undone runs here.
      for (let j = 0; j < seqs.length; j++) {
        Atomics.store(words(), seqs[j].pArgs / 4 + F_ABORT, 1);
        if (posted[j] >= 0) pool.join(posted[j], stallMs());
      }
    }
    for (const q of seqs) rest(q);
  }

  /**
   * Waits until worker `w`'s one-thread sequence (progress word `idx`) has done `phases`
   * phases; `w`, or -1 when the caller must run the rest itself: it took the part back
   * unclaimed, or the worker is gone, or no phase finished within `stallMs()` (then the
   * worker is stopped).
   */
  function awaitSequence(pool: WorkerPool, w: number, idx: number, phases: number, phaseMs: number, stallMs: () => number): number {
    const i32 = words();
    let spins = 0;
    let since = 0;
    let last = -1;
    for (let v = Atomics.load(i32, idx); v < phases; v = Atomics.load(i32, idx)) {
      if (spins < 4000) {
        spins++;
        continue;
      }
      const now = performance.now();
      // Stalled means no phase finished for a while (the whole loop may take long).
      if (v !== last) {
        last = v;
        since = now;
      }
      const state = pool.partState(w);
      if (state === 'ended' || state === 'dead') return w;
      if (state === 'unclaimed' && now - since > Math.max(1, phaseMs) && pool.takeBack(w)) return -1;
      if (state === 'running' && now - since > stallMs()) {
        pool.abandon(w);
        return -1;
      }
      if (pool.blocking) Atomics.wait(i32, idx, v, 1);
    }
    return w;
  }

  /**
   * Row groups for a forward (or backward) sequence of batch `B` whose recurrent GEMMs cost
   * `macs` in all, with a packed recurrent weight of `wBytes`: one per thread, at least
   * {@link ROW_GROUP_MIN} rows each, when the loop is worth a worker at all
   * ({@link recurrentSplitPays}: the groups meet only at the end) and the weight stays in a core's
   * caches ({@link ROW_GROUP_MAX_WEIGHT}). Splitting rows rather than units costs no meeting
   * per step and no exchange of h between cores; each group's GEMM has fewer rows, which
   * measured (one thread, H 256, batch 32 down to 8) within 10% of the per-row rate of the
   * whole batch, where the per-step meeting of the unit split cost more than it saved at
   * batch 16 (1.23x the one-thread time, loaded 2-core machine). But every group streams the
   * whole weight each step: with a weight beyond the caches the unit split, which gives each
   * thread half of it, won (LSTM H 1024, batch 8: 0.45x the one-thread time against 0.64x).
   */
  function rowGroups(loop: RecurrentLoop, B: number, macs: number, wBytes: number): number {
    const pool = rt.workers;
    if (!pool || B < 2 * ROW_GROUP_MIN || wBytes > ROW_GROUP_MAX_WEIGHT) return 1;
    if (!recurrentSplitPays('rows', loop, macs, th.threadMinMacs)) return 1;
    return Math.max(1, Math.min(pool.available() + 1, Math.floor(B / ROW_GROUP_MIN)));
  }

  /**
   * Threads for a time loop whose every step costs `stepMacs` in its recurrent GEMM:
   * one unless the step is large enough to repay a synchronisation per step
   * ({@link recurrentSplitPays}), and never more than there are 16-unit blocks to share (a
   * projection keeps the loop on one thread: its second GEMM needs every unit of the step).
   */
  function loopThreads(loop: RecurrentLoop, stepMacs: number, H: number, projection: boolean): number {
    const pool = rt.workers;
    if (!pool || projection || !recurrentSplitPays('units', loop, stepMacs, th.threadMinMacs)) return 1;
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
    // Rows as in the forward (each group's whole backward loop on one thread, no meeting
    // per step), judged on W_hh packed as the right operand of dh = dGh W_hh; else units.
    const groups = rowGroups('backward', B, B * GH * P * T, packed(GH, P) * 4);
    const threads = groups > 1 ? 1 : loopThreads('backward', B * GH * P, H, proj);
    call.begin();
    const pArgs = call.alloc(F_UNITS + 2 * threads);
    const pSizes = call.alloc(T);
    const pOffs = call.alloc(T);
    const pProgress = call.alloc(threads);
    // Inputs the loop only reads: where they are when resident and contiguous.
    const pWSrc = call.view(store, wHh);
    const pWT = call.alloc(packed(GH, P));
    const pWrSrc = wHr ? call.view(store, wHr) : 0;
    const pWrT = proj ? call.alloc(packed(P, H)) : 0;
    const pY = call.view(store, y);
    const pWs = call.view(store, workspace);
    const pDY = call.view(store, dY);
    const pDhN = call.view(store, dHN);
    const pDcN = dCN ? call.view(store, dCN) : 0;
    // Two buffers each for dh and dc: steps alternate (each a pure function of the last);
    // the first of each ends as dH0 / dC0 (outputs that start as copies of dHN / dCN).
    const pDh = call.out(B * P, PANEL);
    const pDh1 = call.alloc(B * P + PANEL);
    const pDc = isLSTM ? call.out(B * H, PANEL) : call.alloc(B * H + PANEL);
    const pDc1 = call.alloc(B * H + PANEL);
    const pDGi = call.out(N * GH);
    const pDGh = isGRU ? call.alloc(N * GH) : pDGi;
    const pDHs = proj ? call.alloc(N * P) : 0;
    const pG = call.alloc(B * P + PANEL);
    const pDhr = call.alloc(B * H + PANEL);
    // The first group uses the blocks above. The state buffers are shared, each group from its
    // first row on (the GEMM stores only a row's own columns, so neighbouring groups never
    // overwrite each other); its scratch is the gradient reaching h (g) and its unprojected part (dhr).
    const blocks = rowBlocks(B, T, groups, { pArgs, pSizes, pOffs, pProgress, pGh: pG, pHraw: pDhr }, (rows) => [
      rows * P + PANEL,
      rows * H + PANEL,
    ]);
    // The weight-gradient GEMMs: dGh^T (and dHs^T) row-major, hPrev (and hRaw) packed.
    const pAT = call.alloc(GH * N);
    const pB = call.alloc(packed(N, P));
    const pDW = call.out(GH * P, PANEL);
    const pDB = attrs.hasBias ? call.out(GH) : 0;
    const pAT2 = proj ? call.alloc(P * N) : 0;
    const pB2 = proj ? call.alloc(packed(N, H)) : 0;
    const pDWr = proj ? call.out(P * H, PANEL) : 0;
    if (!call.commit()) return js.recurrentSequenceBackward(store, wHh, wHr, y, workspace, dY, dHN, dCN, attrs);
    const heap = call.heap;
    const i32 = words();
    // W_hh [G*H, P] as the right operand of dh = dGh W_hh.
    ex.packB(pWSrc, P, 1, GH, P, pWT);
    if (proj) ex.packB(pWrSrc, H, 1, P, H, pWrT);
    heap.copyWithin(pDh / 4, pDhN / 4, pDhN / 4 + B * P);
    if (dCN) heap.copyWithin(pDc / 4, pDcN / 4, pDcN / 4 + B * H);
    else heap.fill(0, pDc / 4, pDc / 4 + B * H);
    // Rows that join late (the forward direction's backward) read dHN / dCN from either buffer.
    heap.copyWithin(pDh1 / 4, pDh / 4, pDh / 4 + B * P);
    heap.copyWithin(pDc1 / 4, pDc / 4, pDc / 4 + B * H);
    for (const b of blocks) {
      // A row group's batch sizes and row offsets clipped to its rows (as writeForwardBlock).
      const whole = b.r0 === 0 && b.r1 === B;
      i32.set(whole ? batchSizes : batchSizes.map((n) => Math.max(0, Math.min(n, b.r1) - b.r0)), b.pSizes / 4);
      i32.set(whole ? offsets : offsets.map((o) => o + b.r0), b.pOffs / 4);
      const t = groups > 1 ? 1 : threads;
      i32.fill(0, b.pProgress / 4, b.pProgress / 4 + t);
      const [dh, dh1, dc, dc1] = [pDh + b.r0 * P * 4, pDh1 + b.r0 * P * 4, pDc + b.r0 * H * 4, pDc1 + b.r0 * H * 4];
      const block = new Array<number>(F_UNITS).fill(0);
      block[0] = MODE_CODES[mode];
      [block[1], block[2], block[3], block[4], block[5], block[6], block[7]] = [pWT, pDY, pDGi, pWrT, dh, dc, dc1];
      [block[8], block[9], block[10], block[11], block[12], block[13]] = [pY, pWs, pDGh, b.pGh, b.pSizes, b.pOffs];
      [block[14], block[15], block[16], block[17], block[18], block[19]] = [T, H, dh1, P, reverse ? 1 : 0, N];
      [block[20], block[21], block[22], block[F_KIND], block[24], block[25]] = [b.pProgress, t, 0, 1, pDHs, b.pHraw];
      i32.set(block, b.pArgs / 4);
      if (t === 1) i32.set([0, H], b.pArgs / 4 + F_UNITS);
    }
    const units = splitUnits(i32, pArgs, H, groups > 1 ? 1 : threads);
    const oneThread = () => {
      for (let q = 0; q < 2 * T; q++) ex.recurrentPhase(pArgs, q, 0, H);
    };
    if (groups > 1) alongside(rt.workers as WorkerPool, blocks.slice(1), 2 * T, H, oneThread);
    else if (threads < 2) oneThread();
    else runThreaded(rt.workers as WorkerPool, i32, pArgs, pProgress, units, 2 * T);
    for (const b of blocks) ex.recurrentBackwardFinish(b.pArgs);
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
      call.take(store, pDGi, N * GH),
      call.take(store, pDh, B * P),
      isLSTM ? call.take(store, pDc, B * H) : null,
      call.take(store, pDW, GH * P),
      pDB ? call.take(store, pDB, GH) : null,
      proj ? call.take(store, pDWr, P * H) : null,
    ];
  }

  return { recurrentSequence, recurrentSequenceBackward, recurrentSequenceBidirectional, recurrentLayer };
}
