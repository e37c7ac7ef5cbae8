/**
 * The WebAssembly kernel entries of the CPU backend's tables. Each one handles the cases it
 * is fast at (float32, large enough, the layouts listed on it) and hands everything else to
 * the JavaScript kernel it replaces, which stays the reference: same contract, same
 * results within float32 rounding.
 */
import { type BinaryOp, type DataId, type LinearActivation, type ReduceOp, type TensorView, type UnaryOp, sizeOf } from '@ghostflow/core';
import { attentionSoftmaxRows } from '../kernels/fused/attention.js';
import { applyActivation } from '../kernels/fused/linear.js';
import type { CpuFusedTable, CpuPrimitiveTable } from '../kernel-table.js';
import type { CpuStore } from '../storage.js';
import { isContiguousView, rowMajorFloat64, rowMajorValues, stridedOffsets } from '../strided.js';
import { POOL_OP, type PartArgs } from './pool.js';
import { wasmRecurrentKernels } from './recurrent-kernels.js';
import { type KernelExports, ScratchLayout, type WasmRuntime } from './runtime.js';

/** Work-size thresholds below which the JS kernels run (call overhead would dominate). */
export interface WasmThresholds {
  /** Elements of the output (elementwise, reductions, row and cell kernels). */
  minElements: number;
  /** Multiply-adds (m·n·k summed over the batch) for matmul and linear. */
  minMacs: number;
  /** Multiply-adds from which GEMM is split over the worker threads. */
  threadMinMacs: number;
}

/** Defaults: wasm from about a thousand elements; threads from 128x128x64. */
export const DEFAULT_THRESHOLDS: WasmThresholds = { minElements: 1024, minMacs: 4096, threadMinMacs: 128 * 128 * 64 };

/** Unary ops with a wasm implementation, with their op codes in assembly/kernels.ts. */
const UNARY_CODES: Partial<Record<UnaryOp, number>> = { exp: 0, tanh: 1, sigmoid: 2, relu: 3, neg: 4, abs: 5, sqrt: 6, silu: 7 };
/** Activations the linear epilogue runs in wasm (unary op codes; 8 = geluTanh, epilogue only). */
const EPILOGUE_CODES: Partial<Record<LinearActivation, number>> = { relu: 3, tanh: 1, sigmoid: 2, silu: 7, geluTanh: 8 };
/** Binary ops with a wasm implementation, with their op codes. */
const BINARY_CODES: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 };

const PANEL = 16;

/** How one matrix operand gets into wasm memory. */
interface Staged {
  /** Floats one slice occupies in its staging region. */
  slot: number;
  /** Element strides of the staged copy. */
  rs: number;
  cs: number;
  /** Copies the slice at buffer offset `off` into the heap at float index `dst`. */
  copy(heap: Float32Array, dst: number, off: number): void;
}

/**
 * Plans the copy of a `[rows, cols]` slice with strides (`rs`, `cs`) from `src`. When the
 * slice's memory span is compact (contiguous, transposed, a few padding elements) the span
 * is copied as-is with one `set` (a memcpy) and the strides are kept, so the wasm packing
 * routine does the reordering; a sparse span (e.g. every 100th element) is gathered in JS.
 */
function stage(src: Float32Array, rows: number, cols: number, rs: number, cs: number): Staged {
  const span = (rows - 1) * rs + (cols - 1) * cs + 1;
  if (span <= 2 * rows * cols + 64) {
    return { slot: span, rs, cs, copy: (heap, dst, off) => heap.set(src.subarray(off, off + span), dst) };
  }
  return {
    slot: rows * cols,
    rs: cols,
    cs: 1,
    copy: (heap, dst, off) => {
      let i = dst;
      for (let r = 0; r < rows; r++) for (let c = 0, p = off + r * rs; c < cols; c++, p += cs) heap[i++] = src[p];
    },
  };
}

function allEqual(xs: Int32Array): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i] !== xs[0]) return false;
  return true;
}

/** A GEMM problem after its operands are in wasm memory. */
export interface GemmJob {
  a: number;
  aBatch: number;
  lda: number;
  b: number;
  bBatch: number;
  c: number;
  bias: number;
  m: number;
  n: number;
  k: number;
  batch: number;
}

/** Runs `job`, split over the worker pool by (batch, column panel) tasks when it is big enough. */
export function runGemm(rt: WasmRuntime, th: WasmThresholds, job: GemmJob): void {
  const { m, n, k, batch } = job;
  const ex = rt.exports;
  const tasks = batch * Math.ceil(n / PANEL);
  const args = (t0: number, t1: number): PartArgs => [
    job.a,
    job.aBatch,
    job.lda,
    job.b,
    job.bBatch,
    job.c,
    m * n * 4,
    job.bias,
    m,
    n,
    k,
    t0,
    t1,
  ];
  const call = (p: PartArgs): void => ex.gemm(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12]);
  const pool = rt.workers;
  const parts = pool && batch * m * n * k >= th.threadMinMacs ? Math.min(tasks, pool.available() + 1) : 1;
  if (!pool || parts < 2) {
    call(args(0, tasks));
    return;
  }
  const list: PartArgs[] = [];
  for (let p = 0; p < parts; p++) list.push(args(Math.floor((tasks * p) / parts), Math.floor((tasks * (p + 1)) / parts)));
  pool.run(POOL_OP.gemm, list, call);
}

/**
 * Copies operands in, packs them, runs the GEMM and returns the heap view and the output's
 * float index, or null when the memory cannot hold the problem. `aOff`/`bOff` are the
 * buffer offsets of each batch slice.
 */
function gemmInWasm(
  rt: WasmRuntime,
  th: WasmThresholds,
  p: {
    aSrc: Float32Array;
    aOff: Int32Array;
    aRs: number;
    aCs: number;
    bSrc: Float32Array;
    bOff: Int32Array;
    bRs: number;
    bCs: number;
    bias: Float32Array | null;
    m: number;
    n: number;
    k: number;
    batch: number;
  },
): { heap: Float32Array; c: number } | null {
  const { m, n, k, batch } = p;
  const ex: KernelExports = rt.exports;
  const panels = Math.ceil(n / PANEL);
  // Broadcast operands (the same slice for every batch) are packed once, batch stride 0.
  const aSlices = allEqual(p.aOff) ? 1 : batch;
  const bSlices = allEqual(p.bOff) ? 1 : batch;
  const sa = stage(p.aSrc, m, k, p.aRs, p.aCs);
  const sb = stage(p.bSrc, k, n, p.bRs, p.bCs);
  // The micro-kernel reads A rows with unit column stride; anything else is repacked.
  const packA = sa.cs !== 1;
  const L = new ScratchLayout();
  const aStage = L.f32(packA ? sa.slot : sa.slot * aSlices);
  const aPacked = packA ? L.f32(m * k * aSlices) : aStage;
  const bStage = L.f32(sb.slot);
  const bPanels = L.f32(k * panels * PANEL * bSlices);
  // +16: tiles reload partial sums a whole 16-float panel row wide, past the last column.
  const c = L.f32(batch * m * n + PANEL);
  const bias = p.bias ? L.f32(panels * PANEL) : 0;
  const heap = rt.reserve(L.top);
  if (!heap) return null;
  for (let t = 0; t < aSlices; t++) {
    if (packA) {
      sa.copy(heap, aStage / 4, p.aOff[t]);
      ex.packA(aStage, sa.rs, sa.cs, m, k, aPacked + t * m * k * 4);
    } else sa.copy(heap, aStage / 4 + t * sa.slot, p.aOff[t]);
  }
  for (let t = 0; t < bSlices; t++) {
    sb.copy(heap, bStage / 4, p.bOff[t]);
    ex.packB(bStage, sb.rs, sb.cs, k, n, bPanels + t * k * panels * PANEL * 4);
  }
  if (p.bias) heap.set(p.bias, bias / 4);
  runGemm(rt, th, {
    a: aPacked,
    aBatch: aSlices === 1 ? 0 : (packA ? m * k : sa.slot) * 4,
    lda: packA ? k : sa.rs,
    b: bPanels,
    bBatch: bSlices === 1 ? 0 : k * panels * PANEL * 4,
    c,
    bias,
    m,
    n,
    k,
    batch,
  });
  return { heap, c: c / 4 };
}

/** Builds the wasm entries for a runtime; `js` are the kernels they fall back to. */
export function wasmKernelTables(
  rt: WasmRuntime,
  th: WasmThresholds,
  js: { kernels: Readonly<CpuPrimitiveTable>; fused: Readonly<CpuFusedTable> },
): { kernels: Partial<CpuPrimitiveTable>; fused: Partial<CpuFusedTable> } {
  const ex = rt.exports;
  const f32 = (store: CpuStore, v: TensorView): Float32Array => store.data(v.dataId) as Float32Array;

  /** float32 matmul, any strides and batch broadcast: packed-panel GEMM. */
  function matmul(store: CpuStore, a: TensorView, b: TensorView): DataId {
    const rank = a.shape.length;
    const m = a.shape[rank - 2];
    const k = a.shape[rank - 1];
    const n = b.shape[rank - 1];
    const batchShape = a.shape.slice(0, rank - 2);
    const batch = sizeOf(batchShape);
    if (a.dtype !== 'float32' || batch * m * n === 0 || k === 0 || batch * m * n * k < th.minMacs) return js.kernels.matmul(store, a, b);
    const aSrc = f32(store, a);
    const bSrc = f32(store, b);
    const r = gemmInWasm(rt, th, {
      aSrc,
      aOff: stridedOffsets(batchShape, a.strides.slice(0, rank - 2), a.offset),
      aRs: a.strides[rank - 2],
      aCs: a.strides[rank - 1],
      bSrc,
      bOff: stridedOffsets(batchShape, b.strides.slice(0, rank - 2), b.offset),
      bRs: b.strides[rank - 2],
      bCs: b.strides[rank - 1],
      bias: null,
      m,
      n,
      k,
      batch,
    });
    if (!r) return js.kernels.matmul(store, a, b);
    const out = store.alloc('float32', batch * m * n);
    (out.data as Float32Array).set(r.heap.subarray(r.c, r.c + batch * m * n));
    return out;
  }

  /**
   * `act(x @ weight^T + bias)`: the GEMM with weight read transposed and bias as the
   * accumulators' start; the activation runs over C in wasm memory right after the GEMM
   * (relu/tanh/sigmoid/silu/geluTanh vector code; erf-gelu with the JS formula on the copy).
   */
  function linear(
    store: CpuStore,
    x: TensorView,
    weight: TensorView,
    bias: TensorView | null,
    attrs?: { activation?: LinearActivation },
  ): DataId {
    const rank = x.shape.length;
    const k = x.shape[rank - 1];
    const n = weight.shape[0];
    const rows = sizeOf(x.shape.slice(0, rank - 1));
    const activation = attrs?.activation;
    if (x.dtype !== 'float32' || rows * n === 0 || k === 0 || rows * n * k < th.minMacs)
      return js.fused.linear(store, x, weight, bias, attrs);
    const xs = rowMajorValues(f32(store, x), x) as Float32Array;
    const biasValues = bias ? (rowMajorValues(f32(store, bias), bias) as Float32Array) : null;
    const r = gemmInWasm(rt, th, {
      aSrc: xs,
      aOff: new Int32Array(1),
      aRs: k,
      aCs: 1,
      bSrc: f32(store, weight),
      bOff: Int32Array.of(weight.offset),
      bRs: weight.strides[1],
      bCs: weight.strides[0],
      bias: biasValues,
      m: rows,
      n,
      k,
      batch: 1,
    });
    if (!r) return js.fused.linear(store, x, weight, bias, attrs);
    const code = activation ? EPILOGUE_CODES[activation] : undefined;
    if (code !== undefined) ex.unary(code, r.c * 4, r.c * 4, rows * n);
    const out = store.alloc('float32', rows * n);
    (out.data as Float32Array).set(r.heap.subarray(r.c, r.c + rows * n));
    if (activation && code === undefined) applyActivation(out.data as Float32Array, activation);
    return out;
  }

  /** Contiguous float32 input of at least `minElements`: the elementwise fast-path test. */
  const big = (v: TensorView): boolean => {
    const size = sizeOf(v.shape);
    return v.dtype === 'float32' && size > 0 && size >= th.minElements && isContiguousView(v);
  };

  function unary(store: CpuStore, x: TensorView, attrs: { op: UnaryOp }): DataId {
    const code = UNARY_CODES[attrs.op];
    if (code === undefined || !big(x)) return js.kernels.unary(store, x, attrs);
    const size = sizeOf(x.shape);
    const src = f32(store, x);
    const L = new ScratchLayout();
    const px = L.f32(size);
    const heap = rt.reserve(L.top);
    if (!heap) return js.kernels.unary(store, x, attrs);
    heap.set(src.subarray(x.offset, x.offset + size), px / 4);
    ex.unary(code, px, px, size);
    const out = store.alloc('float32', size);
    (out.data as Float32Array).set(heap.subarray(px / 4, px / 4 + size));
    return out;
  }

  function binary(store: CpuStore, a: TensorView, b: TensorView, attrs: { op: BinaryOp }): DataId {
    const code = BINARY_CODES[attrs.op];
    if (code === undefined || !big(a) || !big(b)) return js.kernels.binary(store, a, b, attrs);
    const size = sizeOf(a.shape);
    const as = f32(store, a);
    const bs = f32(store, b);
    const L = new ScratchLayout();
    const pa = L.f32(size);
    const pb = L.f32(size);
    const heap = rt.reserve(L.top);
    if (!heap) return js.kernels.binary(store, a, b, attrs);
    heap.set(as.subarray(a.offset, a.offset + size), pa / 4);
    heap.set(bs.subarray(b.offset, b.offset + size), pb / 4);
    ex.binary(code, pa, pb, pa, size);
    const out = store.alloc('float32', size);
    (out.data as Float32Array).set(heap.subarray(pa / 4, pa / 4 + size));
    return out;
  }

  /** float32 sum over trailing axes of a contiguous tensor: rows summed in float64 lanes. */
  function reduce(store: CpuStore, x: TensorView, attrs: { op: ReduceOp; axes: readonly number[] }): DataId {
    const { op, axes } = attrs;
    const rank = x.shape.length;
    const first = rank - axes.length;
    const trailing = axes.length > 0 && axes.every((d, i) => d === first + i);
    if (op !== 'sum' || !trailing || first < 0 || !big(x)) return js.kernels.reduce(store, x, attrs);
    const size = sizeOf(x.shape);
    const rows = sizeOf(x.shape.slice(0, first));
    const n = size / rows;
    const src = f32(store, x);
    const L = new ScratchLayout();
    const px = L.f32(size);
    const py = L.f32(rows);
    const heap = rt.reserve(L.top);
    if (!heap) return js.kernels.reduce(store, x, attrs);
    heap.set(src.subarray(x.offset, x.offset + size), px / 4);
    ex.sumRows(px, py, rows, n);
    const out = store.alloc('float32', rows);
    (out.data as Float32Array).set(heap.subarray(py / 4, py / 4 + rows));
    return out;
  }

  function softmaxLike(log: boolean, store: CpuStore, x: TensorView, axis: number): DataId | null {
    const rank = x.shape.length;
    if (rank === 0 || axis !== rank - 1 || x.shape[rank - 1] === 0 || !big(x)) return null;
    const size = sizeOf(x.shape);
    const n = x.shape[rank - 1];
    const src = f32(store, x);
    const L = new ScratchLayout();
    const px = L.f32(size);
    const heap = rt.reserve(L.top);
    if (!heap) return null;
    heap.set(src.subarray(x.offset, x.offset + size), px / 4);
    ex.softmaxRows(px, px, size / n, n, log ? 1 : 0);
    const out = store.alloc('float32', size);
    (out.data as Float32Array).set(heap.subarray(px / 4, px / 4 + size));
    return out;
  }

  function softmax(store: CpuStore, x: TensorView, attrs: { axis: number }): DataId {
    return softmaxLike(false, store, x, attrs.axis) ?? js.fused.softmax(store, x, attrs);
  }

  function logSoftmax(store: CpuStore, x: TensorView, attrs: { axis: number }): DataId {
    return softmaxLike(true, store, x, attrs.axis) ?? js.fused.logSoftmax(store, x, attrs);
  }

  function layerNorm(
    store: CpuStore,
    x: TensorView,
    weight: TensorView | null,
    bias: TensorView | null,
    attrs: { normalizedSize: number; eps: number },
  ): [DataId, DataId, DataId] {
    const n = attrs.normalizedSize;
    if (n === 0 || !big(x)) return js.fused.layerNorm(store, x, weight, bias, attrs);
    const size = sizeOf(x.shape);
    const rows = size / n;
    const src = f32(store, x);
    const w = weight ? (rowMajorValues(f32(store, weight), weight) as Float32Array) : null;
    const b = bias ? (rowMajorValues(f32(store, bias), bias) as Float32Array) : null;
    const L = new ScratchLayout();
    const px = L.f32(size);
    const pw = w ? L.f32(n) : 0;
    const pb = b ? L.f32(n) : 0;
    const pm = L.f32(rows);
    const pr = L.f32(rows);
    const heap = rt.reserve(L.top);
    if (!heap) return js.fused.layerNorm(store, x, weight, bias, attrs);
    heap.set(src.subarray(x.offset, x.offset + size), px / 4);
    if (w) heap.set(w, pw / 4);
    if (b) heap.set(b, pb / 4);
    ex.layerNormRows(px, pw, pb, px, pm, pr, rows, n, attrs.eps);
    const out = store.alloc('float32', size);
    const mean = store.alloc('float32', rows);
    const rstd = store.alloc('float32', rows);
    (out.data as Float32Array).set(heap.subarray(px / 4, px / 4 + size));
    (mean.data as Float32Array).set(heap.subarray(pm / 4, pm / 4 + rows));
    (rstd.data as Float32Array).set(heap.subarray(pr / 4, pr / 4 + rows));
    return [out, mean, rstd];
  }

  /** Copies a contiguous-or-not float32 view into the heap at byte offset `p`. */
  const put = (heap: Float32Array, store: CpuStore, v: TensorView, p: number): void => {
    heap.set(rowMajorValues(f32(store, v), v) as Float32Array, p / 4);
  };

  function lstmCell(store: CpuStore, gi: TensorView, gh: TensorView, c: TensorView): [DataId, DataId] {
    const hidden = c.shape[c.shape.length - 1];
    const size = sizeOf(c.shape);
    if (gi.dtype !== 'float32' || hidden === 0 || size < th.minElements) return js.fused.lstmCell(store, gi, gh, c);
    const L = new ScratchLayout();
    const pi = L.f32(4 * size);
    const pg = L.f32(4 * size);
    const pc = L.f32(size);
    const ph = L.f32(size);
    const heap = rt.reserve(L.top);
    if (!heap) return js.fused.lstmCell(store, gi, gh, c);
    put(heap, store, gi, pi);
    put(heap, store, gh, pg);
    put(heap, store, c, pc);
    // c' overwrites c in place (each element is read before it is written).
    ex.lstmCell(pi, pg, pc, ph, pc, size / hidden, hidden);
    const hOut = store.alloc('float32', size);
    const cOut = store.alloc('float32', size);
    (hOut.data as Float32Array).set(heap.subarray(ph / 4, ph / 4 + size));
    (cOut.data as Float32Array).set(heap.subarray(pc / 4, pc / 4 + size));
    return [hOut, cOut];
  }

  function gruCell(store: CpuStore, gi: TensorView, gh: TensorView, h: TensorView): DataId {
    const hidden = h.shape[h.shape.length - 1];
    const size = sizeOf(h.shape);
    if (gi.dtype !== 'float32' || hidden === 0 || size < th.minElements) return js.fused.gruCell(store, gi, gh, h);
    const L = new ScratchLayout();
    const pi = L.f32(3 * size);
    const pg = L.f32(3 * size);
    const ph = L.f32(size);
    const heap = rt.reserve(L.top);
    if (!heap) return js.fused.gruCell(store, gi, gh, h);
    put(heap, store, gi, pi);
    put(heap, store, gh, pg);
    put(heap, store, h, ph);
    ex.gruCell(pi, pg, ph, ph, size / hidden, hidden);
    const out = store.alloc('float32', size);
    (out.data as Float32Array).set(heap.subarray(ph / 4, ph / 4 + size));
    return out;
  }

  function lstmCellBackward(
    store: CpuStore,
    gi: TensorView,
    gh: TensorView,
    c: TensorView,
    dH: TensorView,
    dC: TensorView,
  ): [DataId, DataId] {
    const hidden = c.shape[c.shape.length - 1];
    const size = sizeOf(c.shape);
    if (gi.dtype !== 'float32' || hidden === 0 || size < th.minElements) return js.fused.lstmCellBackward(store, gi, gh, c, dH, dC);
    const L = new ScratchLayout();
    const pi = L.f32(4 * size);
    const pg = L.f32(4 * size);
    const pc = L.f32(size);
    const ph = L.f32(size);
    const pd = L.f32(size);
    const pdg = L.f32(4 * size);
    const heap = rt.reserve(L.top);
    if (!heap) return js.fused.lstmCellBackward(store, gi, gh, c, dH, dC);
    put(heap, store, gi, pi);
    put(heap, store, gh, pg);
    put(heap, store, c, pc);
    put(heap, store, dH, ph);
    put(heap, store, dC, pd);
    // dCPrev overwrites dC in place (each element is read before it is written).
    ex.lstmCellBackward(pi, pg, pc, ph, pd, pdg, pd, size / hidden, hidden);
    const dg = store.alloc('float32', 4 * size);
    const dc = store.alloc('float32', size);
    (dg.data as Float32Array).set(heap.subarray(pdg / 4, pdg / 4 + 4 * size));
    (dc.data as Float32Array).set(heap.subarray(pd / 4, pd / 4 + size));
    return [dg, dc];
  }

  function gruCellBackward(store: CpuStore, gi: TensorView, gh: TensorView, h: TensorView, dH: TensorView): [DataId, DataId, DataId] {
    const hidden = h.shape[h.shape.length - 1];
    const size = sizeOf(h.shape);
    if (gi.dtype !== 'float32' || hidden === 0 || size < th.minElements) return js.fused.gruCellBackward(store, gi, gh, h, dH);
    const L = new ScratchLayout();
    const pi = L.f32(3 * size);
    const pg = L.f32(3 * size);
    const ph = L.f32(size);
    const pd = L.f32(size);
    const pdi = L.f32(3 * size);
    const pdg = L.f32(3 * size);
    const heap = rt.reserve(L.top);
    if (!heap) return js.fused.gruCellBackward(store, gi, gh, h, dH);
    put(heap, store, gi, pi);
    put(heap, store, gh, pg);
    put(heap, store, h, ph);
    put(heap, store, dH, pd);
    // dHPrev overwrites dH in place (each element is read before it is written).
    ex.gruCellBackward(pi, pg, ph, pd, pdi, pdg, pd, size / hidden, hidden);
    const dgi = store.alloc('float32', 3 * size);
    const dgh = store.alloc('float32', 3 * size);
    const dh = store.alloc('float32', size);
    (dgi.data as Float32Array).set(heap.subarray(pdi / 4, pdi / 4 + 3 * size));
    (dgh.data as Float32Array).set(heap.subarray(pdg / 4, pdg / 4 + 3 * size));
    (dh.data as Float32Array).set(heap.subarray(pd / 4, pd / 4 + size));
    return [dgi, dgh, dh];
  }

  /**
   * Attention with both products on the wasm GEMM: `q kᵀ` (k read transposed through its
   * strides), the scale / mask / causal softmax rows in JS (float64, shared with the JS
   * kernel), then `weights v`. Small problems run the JS kernel.
   */
  function attention(
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
    if (q.dtype !== 'float32' || B * L * S * Math.max(E, Ev) < th.minMacs || E === 0 || S === 0) {
      return js.fused.attention(store, q, k, v, mask, attrs);
    }
    const kT: TensorView = { ...k, shape: [B, E, S], strides: [k.strides[0], k.strides[2], k.strides[1]] };
    const dots = matmul(store, q, kT);
    const wData = store.alloc('float32', B * L * S);
    try {
      attentionSoftmaxRows(
        store.data(dots) as Float32Array,
        mask ? rowMajorFloat64(store.data(mask.dataId), mask) : null,
        wData.data as Float32Array,
        B,
        L,
        S,
        attrs,
      );
    } finally {
      store.dispose(dots);
    }
    const wView: TensorView = { dataId: wData, dtype: 'float32', shape: [B, L, S], strides: [L * S, S, 1], offset: 0 };
    return [matmul(store, wView, v), wData];
  }

  return {
    kernels: { matmul, unary, binary, reduce },
    fused: {
      linear,
      softmax,
      logSoftmax,
      layerNorm,
      lstmCell,
      gruCell,
      lstmCellBackward,
      gruCellBackward,
      attention,
      ...wasmRecurrentKernels(rt, th, js.fused),
    },
  };
}
