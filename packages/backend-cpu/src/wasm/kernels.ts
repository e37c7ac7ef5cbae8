/**
 * The WebAssembly kernel entries of the CPU backend's tables. Each one handles the cases it
 * is fast at (float32, large enough, the layouts listed on it) and hands everything else to
 * the JavaScript kernel it replaces, which stays the reference: same contract, same
 * results within float32 rounding.
 */
import {
  type AdamUpdateAttrs,
  type BinaryOp,
  type DataId,
  type LinearActivation,
  type ReduceOp,
  type TensorView,
  type UnaryOp,
  sizeOf,
} from '@ghostflow/core';
import { applyActivation } from '../kernels/fused/linear.js';
import type { CpuFusedTable, CpuPrimitiveTable } from '../kernel-table.js';
import type { CpuStore } from '../storage.js';
import { isContiguousView, rowMajorValues, stridedOffsets } from '../strided.js';
import { FLAT_GRAIN, partBounds, runParts, stridedParts, threadParts } from './parts.js';
import { POOL_OP, type PartArgs } from './pool.js';
import { wasmRecurrentKernels } from './recurrent-kernels.js';
import { wasmLogSoftmaxGatherKernels } from './log-softmax-gather.js';
import { wasmSelectKernels } from './select-kernels.js';
import { adamConstants } from '../kernels/fused/adam-update.js';
import type { CpuData } from '../storage.js';
import { KernelCall, type StridedOperand } from './call.js';
import { PACKED_CACHE_BYTES, PackedCache } from './packed-cache.js';
import type { GemmArgs, KernelExports, WasmRuntime } from './runtime.js';

/** A view planned as a contiguous region (`src`/`rank`/`meta` set when `copyND` must reorder it). */
interface ContiguousPlan {
  ptr: number;
  src: number;
  rank: number;
  meta: number;
}

/** Work-size thresholds below which the JS kernels run (call overhead would dominate). */
export interface WasmThresholds {
  /** Elements of the output (elementwise, reductions, row and cell kernels). */
  minElements: number;
  /** Multiply-adds (m·n·k summed over the batch) for matmul and linear. */
  minMacs: number;
  /** Multiply-adds from which GEMM (and fused attention) is split over the worker threads. */
  threadMinMacs: number;
  /**
   * Elements from which a row or elementwise kernel (softmax, layerNorm, unary, binary, sum)
   * is split over the worker threads; below it no worker is woken.
   */
  threadMinElements: number;
  /** Bytes of packed GEMM weights kept across calls (0 turns the packed cache off). */
  packedCacheBytes: number;
}

/**
 * Defaults: wasm from about a thousand elements; GEMM threads from 128x128x64; row and
 * elementwise threads from 64Ki elements (a worker's wake-up costs tens of microseconds, about
 * what one thread needs for 16Ki exps).
 */
export const DEFAULT_THRESHOLDS: WasmThresholds = {
  minElements: 1024,
  minMacs: 4096,
  threadMinMacs: 128 * 128 * 64,
  threadMinElements: 1 << 16,
  packedCacheBytes: PACKED_CACHE_BYTES,
};

/** Unary ops with a wasm implementation, with their op codes in assembly/kernels.ts. */
const UNARY_CODES: Partial<Record<UnaryOp, number>> = { exp: 0, tanh: 1, sigmoid: 2, relu: 3, neg: 4, abs: 5, sqrt: 6, silu: 7 };
/** Activations the linear epilogue runs in wasm (unary op codes; 8 = geluTanh, epilogue only). */
const EPILOGUE_CODES: Partial<Record<LinearActivation, number>> = { relu: 3, tanh: 1, sigmoid: 2, silu: 7, geluTanh: 8 };
/** Binary ops with a wasm implementation, with their op codes. */
const BINARY_CODES: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 };

const PANEL = 16;

/** Reinterprets float32 / float64 scalars as i32 words (worker parts pass only i32 arguments). */
const bits32 = new Float32Array(1);
const bits32i = new Int32Array(bits32.buffer);
const bits64 = new Float64Array(1);
const bits64i = new Int32Array(bits64.buffer);

/** The float32 bits of `x` as an i32. */
function f32Bits(x: number): number {
  bits32[0] = x;
  return bits32i[0];
}

/** The float64 bits of `x` as two i32 words, low then high (little-endian, as wasm). */
function f64Bits(x: number): [number, number] {
  bits64[0] = x;
  return [bits64i[0], bits64i[1]];
}

/**
 * A `[rows, cols]` slice with strides (`rs`, `cs`) at `off` in `src`, planned into the
 * call's memory. A resident slice (`src` is a view over the wasm memory) is used where it
 * is, whatever its strides: the GEMM reads rows any distance apart, and the packing
 * routines take any strides. Otherwise, when the slice's memory span is compact
 * (contiguous, transposed, a few padding elements) the span is copied as-is (a memcpy) and
 * the strides are kept, so the wasm packing routine does the reordering; a sparse span
 * (e.g. every 100th element) is gathered in JS. Returns the region and the staged strides.
 */
function stage(
  call: KernelCall,
  resident: boolean,
  src: Float32Array,
  off: number,
  rows: number,
  cols: number,
  rs: number,
  cs: number,
): { ptr: number; rs: number; cs: number } {
  const span = (rows - 1) * rs + (cols - 1) * cs + 1;
  if (resident || span <= 2 * rows * cols + 64) return { ptr: call.copy(src, off, span), rs, cs };
  const out = new Float32Array(rows * cols);
  let i = 0;
  for (let r = 0; r < rows; r++) for (let c = 0, q = off + r * rs; c < cols; c++, q += cs) out[i++] = src[q];
  return { ptr: call.copy(out, 0, rows * cols), rs: cols, cs: 1 };
}

/** Whether the slices are one constant stride apart with the same row stride (one batch stride describes them). */
function evenlySpaced(stages: readonly { ptr: number; rs: number }[]): boolean {
  if (stages.length < 2) return true;
  const step = stages[1].ptr - stages[0].ptr;
  for (let t = 1; t < stages.length; t++) if (stages[t].ptr - stages[t - 1].ptr !== step || stages[t].rs !== stages[0].rs) return false;
  return true;
}

function allEqual(xs: ArrayLike<number>): boolean {
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
  /**
   * 0: A is row-major (rows `lda` apart). Otherwise A is column-major (`A[i][p]` at element
   * `i + p * lda`) and this is the byte address of `aPackParts` packing buffers of
   * `gemmABlockFloats()` floats each, one per thread (each thread transposes A block by block).
   */
  aPack?: number;
  /** Packing buffers at `aPack`: the most threads the job may use. */
  aPackParts?: number;
  /**
   * 0: `b` is packed (`packB` panels, `bBatch` bytes apart). Otherwise `b` is the strided
   * `[k, n]` source (element strides `bRs`, `bCs`; batch entries `bBatch` bytes apart) and
   * this is the byte address of `bPackParts` buffers of `gemmBBlockFloats()` floats, one per
   * thread: each task packs the B slices it uses itself (see assembly/kernels.ts, `CTL_B_PACK`).
   */
  bPack?: number;
  /** Packing buffers at `bPack`: the most threads the job may use. */
  bPackParts?: number;
  /** B's element strides when `bPack` is set. */
  bRs?: number;
  bCs?: number;
}

/** Most units a shared GEMM is cut into (one state word each in its control block). */
const MAX_UNITS = 1024;
/** Words of the control block before the unit states (layout: assembly/kernels.ts, `CTL_*`). */
const CTL_HEADER = 16;
/**
 * Tasks per thread a shared GEMM aims at. The last claims are single tasks, so the finer
 * the tasks the less a thread waits for the other at the end; row blocks are cut to reach
 * this when the panels alone are too few.
 */
const TASKS_PER_PART = 32;
/** Fewest rows per row block (one cache block of A, `MC` in assembly/kernels.ts). */
const MIN_BLOCK_ROWS = 64;
/**
 * Most rows per row block when the tasks pack B themselves: their rows share each packed
 * B slice, and the A slice under them (rows x 256 floats: 256 KiB) stays in L2 for all of
 * the task's panels.
 */
const SOURCE_B_ROWS = 256;
/**
 * Fewest rows per row block when the tasks pack B themselves: each packed slice serves them
 * all, and packing costs more than reading A again (a deep `[128, 10000] @ [10000, 64]` on
 * two threads: 32-row blocks of 2 panels were 5% slower than 64-row blocks of one panel).
 */
const MIN_SOURCE_B_ROWS = 64;
/** Depth of one GEMM cache block (`KC` in assembly/kernels.ts). */
const GEMM_KC = 256;
/**
 * Tasks per thread for a column-major A: fewer, since every task packs its A blocks and
 * reads its B panels itself (see runGemm).
 */
const PACKED_TASKS_PER_PART = 4;

/** A runtime's shared-GEMM state: the control block in its memory and the caller's entry. */
interface GemmShare {
  ctl: number;
  words: Int32Array;
  local: (p: PartArgs) => void;
}
const shares = new WeakMap<WasmRuntime, GemmShare>();

/** `rt`'s control block (made on first use, kept for the runtime's life), or null when the memory cannot hold it. */
function gemmShare(rt: WasmRuntime): GemmShare | null {
  let s = shares.get(rt);
  if (!s) {
    const ctl = rt.persist((CTL_HEADER + MAX_UNITS) * 4);
    if (ctl === null) return null;
    const ex = rt.exports;
    const local = (q: PartArgs): void => ex.gemmTasks(...(q as GemmArgs));
    s = { ctl, words: new Int32Array(rt.buffer, ctl, CTL_HEADER + MAX_UNITS), local };
    shares.set(rt, s);
  }
  // Growing the memory gives it a new buffer object; views over the old one still work for
  // a shared memory, but a fresh one costs nothing and is always right.
  if (s.words.buffer !== rt.buffer) s.words = new Int32Array(rt.buffer, s.ctl, CTL_HEADER + MAX_UNITS);
  return s;
}

/**
 * Calls `fn` with `job`'s GEMM arguments and the two words `x`, `y` ({@link GemmArgs}): the
 * one place their order is written. `fn` is the `gemm` export for a direct call (no list
 * allocated), {@link gemmArgList} for a part's argument list.
 */
function withGemmArgs<R>(fn: (...args: GemmArgs) => R, job: GemmJob, x: number, y: number): R {
  return fn(job.a, job.aBatch, job.lda, job.b, job.bBatch, job.c, job.m * job.n * 4, job.bias, job.m, job.n, job.k, x, y);
}

/** The arguments as a list (a part for the pool). */
const gemmArgList = (...args: GemmArgs): GemmArgs => args;

/**
 * Runs `job`: one direct call when small (no argument lists, no worker woken), else shared
 * by the caller and the ready workers through `gemmTasks`: every thread claims tasks (batch
 * entry, row block, 16-column panel) from one counter until none is left, so a worker that
 * wakes late or a thread slowed by other processes takes less instead of being waited for.
 * Each task computes its tile of C in a fixed order, so results do not depend on the split.
 */
export function runGemm(rt: WasmRuntime, th: WasmThresholds, job: GemmJob): void {
  const { m, n, k, batch } = job;
  const aPack = job.aPack ?? 0;
  const bPack = job.bPack ?? 0;
  const panels = Math.ceil(n / PANEL);
  const pool = rt.workers;
  let threads = pool && batch * m * n * k >= th.threadMinMacs ? pool.available() + 1 : 1;
  if (aPack !== 0) threads = Math.min(threads, job.aPackParts ?? 1);
  if (bPack !== 0) threads = Math.min(threads, job.bPackParts ?? 1);
  // Callers set aPack / bPack only after gemmShare(rt) succeeded (it is made once and kept).
  const share = threads > 1 || aPack !== 0 || bPack !== 0 ? gemmShare(rt) : null;
  // Tasks: (batch entry, row block, group of panels). Row-major A: single panels, and row
  // blocks (each a whole cache block of A) only when batch x panels gives too few tasks.
  // Column-major A: each task packs its A blocks once for all of its panels, so tasks are
  // row blocks of whole panel groups, panels cut only as far as the threads need.
  let rows: number;
  let groupPanels = 1;
  if (aPack === 0 && bPack !== 0 && k > GEMM_KC) {
    // Tasks pack their B slices and stream their rows' A slices: over the job B is packed
    // once per row block and A read once per panel group (from L2 for the group's other
    // panels), so the split that gives the threads enough tasks for the least traffic is
    // the one of a column-major A below, with rows under SOURCE_B_ROWS. Deep products of
    // few columns (`dY @ W` of a wide decoder: k 10000, n 64) read A once instead of once
    // per panel.
    const want = threads === 1 ? 1 : Math.ceil((PACKED_TASKS_PER_PART * threads) / batch);
    const ideal = Math.round(Math.sqrt((want * m) / (panels * PANEL)));
    const rowBlocks = Math.max(1, Math.ceil(m / SOURCE_B_ROWS), Math.min(Math.ceil(m / MIN_SOURCE_B_ROWS), ideal));
    rows = 2 * Math.ceil(m / rowBlocks / 2);
    const groups = Math.max(1, Math.min(panels, Math.ceil(want / Math.ceil(m / rows))));
    groupPanels = Math.ceil(panels / groups);
  } else if (aPack === 0) {
    // When the tasks pack B, every row block packs all of it again: cut rows only as far as
    // a few tasks per thread need (a [128, 32] @ [32, 256] in two 64-row blocks ran 5% slower).
    const perPart = bPack !== 0 ? PACKED_TASKS_PER_PART : TASKS_PER_PART;
    let rowBlocks = Math.max(1, Math.min(Math.ceil((perPart * threads) / (batch * panels)), Math.floor(m / MIN_BLOCK_ROWS)));
    if (bPack !== 0) rowBlocks = Math.max(rowBlocks, Math.ceil(m / SOURCE_B_ROWS));
    rows = 2 * Math.ceil(m / rowBlocks / 2);
  } else {
    // A task reads its row block's B panels once per depth slice and transposes its A
    // blocks once per panel group: over the job B is read once per row block and A once
    // per group. Given enough tasks for the threads (rowBlocks x groups >= want), the least
    // traffic is at rowBlocks = sqrt(want x |A| / |B|).
    const want = threads === 1 ? 1 : Math.ceil((PACKED_TASKS_PER_PART * threads) / batch);
    const maxBlocks = Math.ceil(m / MIN_BLOCK_ROWS);
    const ideal = Math.round(Math.sqrt((want * m) / (panels * PANEL)));
    const rowBlocks = Math.max(1, Math.min(maxBlocks, ideal));
    rows = MIN_BLOCK_ROWS * Math.ceil(m / rowBlocks / MIN_BLOCK_ROWS);
    const groups = Math.max(1, Math.min(panels, Math.ceil(want / Math.ceil(m / rows))));
    groupPanels = Math.ceil(panels / groups);
  }
  const blocks = Math.ceil(m / rows);
  const tasks = batch * blocks * Math.ceil(panels / groupPanels);
  if (!share || !pool || tasks < 2) {
    if ((aPack === 0 && bPack === 0) || !share) {
      withGemmArgs(rt.exports.gemm, job, 0, batch * panels);
      return;
    }
    threads = 1;
  }
  const group = Math.ceil(tasks / MAX_UNITS);
  const units = Math.ceil(tasks / group);
  const w = share.words;
  w[0] = 0;
  w[1] = units;
  w[2] = group;
  w[3] = tasks;
  w[4] = threads;
  w[5] = rows;
  w[6] = blocks;
  w[7] = groupPanels;
  w[8] = aPack;
  w[9] = bPack;
  w[10] = job.bRs ?? 0;
  w[11] = job.bCs ?? 0;
  w.fill(0, CTL_HEADER, CTL_HEADER + units);
  const list: PartArgs[] = [];
  for (let p = 0; p < threads; p++) list.push(withGemmArgs(gemmArgList, job, share.ctl, p));
  if (threads === 1 || !pool) share.local(list[0]);
  else pool.run(POOL_OP.gemm, list, share.local);
}

/**
 * Elements of a transposed A from which its packing is split over the threads by rows (a
 * weight gradient's `dYᵀ`: the transposing copy runs before the GEMM, on one thread it
 * would cost about a tenth of a two-thread GEMM).
 */
const THREAD_MIN_PACK = 64 * 1024;

/**
 * `packA` of an `[m, k]` operand at `src` (element strides `rs`, `cs`) into row-major `dst`,
 * split by rows over the pool when the GEMM itself is split and A is big (see
 * {@link THREAD_MIN_PACK}); parts start on multiples of 16 rows (the transposing path's
 * blocks).
 */
function runPackA(
  rt: WasmRuntime,
  th: WasmThresholds,
  op: { src: number; rs: number; cs: number; m: number; k: number; dst: number },
  split: boolean,
  local: (p: PartArgs) => void,
): void {
  const { src, rs, cs, m, k, dst } = op;
  const pool = rt.workers;
  const blocks = Math.ceil(m / 16);
  const parts = pool && split && m * k >= Math.min(THREAD_MIN_PACK, th.threadMinMacs) ? Math.min(blocks, pool.available() + 1) : 1;
  if (!pool || parts < 2) {
    rt.exports.packA(src, rs, cs, m, k, dst);
    return;
  }
  const list: PartArgs[] = [];
  for (let p = 0; p < parts; p++) {
    const r0 = Math.min(m, 16 * Math.floor((blocks * p) / parts));
    const r1 = Math.min(m, 16 * Math.floor((blocks * (p + 1)) / parts));
    list.push([src + r0 * rs * 4, rs, cs, r1 - r0, k, dst + r0 * k * 4]);
  }
  pool.run(POOL_OP.packA, list, local);
}

/** Whether {@link runGemm} would split `job`'s shape over the pool. */
function splitsGemm(rt: WasmRuntime, th: WasmThresholds, m: number, n: number, k: number, batch: number): boolean {
  return rt.workers !== null && batch * m * n * k >= th.threadMinMacs && batch * Math.ceil(n / PANEL) >= 2;
}

/**
 * The rows of a linear layer's input `x` (`[..., k]`) as the GEMM takes them: its leading
 * dims with size-1 dims dropped and neighbours merged where one stride steps through both,
 * the last of them the GEMM's rows (`m`, `rs` apart) and any others a batch (row-major over
 * them: the output's row order). A contiguous x is one `[rows, k]` matrix.
 */
function linearRows(x: TensorView): { m: number; rs: number; batch: number; batchShape: number[]; batchStrides: number[] } {
  const shape: number[] = [];
  const strides: number[] = [];
  for (let d = 0; d < x.shape.length - 1; d++) {
    const size = x.shape[d];
    if (size === 1) continue;
    const last = shape.length - 1;
    if (last >= 0 && strides[last] === x.strides[d] * size) {
      shape[last] *= size;
      strides[last] = x.strides[d];
    } else {
      shape.push(size);
      strides.push(x.strides[d]);
    }
  }
  if (shape.length === 0) return { m: 1, rs: x.shape[x.shape.length - 1], batch: 1, batchShape: [], batchStrides: [] };
  const batchShape = shape.slice(0, -1);
  return {
    m: shape[shape.length - 1],
    rs: strides[strides.length - 1],
    batch: sizeOf(batchShape),
    batchShape,
    batchStrides: strides.slice(0, -1),
  };
}

/** The GEMM operands as `gemmInWasm` takes them; `aOff`/`bOff` are each batch slice's buffer offset. */
interface GemmOperands {
  aSrc: Float32Array;
  aOff: Int32Array;
  aRs: number;
  aCs: number;
  bSrc: Float32Array;
  bOff: Int32Array;
  bRs: number;
  bCs: number;
  /** The buffer B lives in, when B may be cached packed (a weight); null for temporaries. */
  bBuf: CpuData | null;
  bias: Float32Array | null;
  m: number;
  n: number;
  k: number;
  batch: number;
}

/**
 * Plans the operands into `call`, packs them (B from the packed cache when it holds it),
 * runs the GEMM and returns the output's byte offset in the memory, or -1 when the memory
 * cannot hold the problem. The output (`batch * m * n` floats, planned with `call.out`) is
 * handed over with `call.take`.
 */
function gemmInWasm(
  rt: WasmRuntime,
  th: WasmThresholds,
  call: KernelCall,
  cache: PackedCache | null,
  localPack: (p: PartArgs) => void,
  p0: GemmOperands,
): number {
  const p = foldBatch(p0);
  const { m, n, k, batch } = p;
  const ex: KernelExports = rt.exports;
  const panels = Math.ceil(n / PANEL);
  const panelFloats = k * panels * PANEL;
  // Broadcast operands (the same slice for every batch) are packed once, batch stride 0.
  const aSlices = allEqual(p.aOff) ? 1 : batch;
  const bSlices = allEqual(p.bOff) ? 1 : batch;
  // The packed cache first: a new persistent region moves the scratch floor up.
  let cached = 0;
  let fill = 0;
  let key = '';
  if (cache && p.bBuf && bSlices === 1) {
    key = `${p.bOff[0]},${p.bRs},${p.bCs},${k},${n}`;
    cached = cache.get(p.bBuf, key);
    if (!cached) fill = cache.reserve(p.bBuf, key, panelFloats * 4);
  }
  // The shared-GEMM control block (persistent, made once) before the scratch is planned.
  const tasksReady = gemmShare(rt) !== null;
  const aResident = rt.owns(p.aSrc.buffer);
  const bResident = rt.owns(p.bSrc.buffer);
  call.begin();
  const aStages: { ptr: number; rs: number; cs: number }[] = [];
  for (let t = 0; t < aSlices; t++) aStages.push(stage(call, aResident, p.aSrc, p.aOff[t], m, k, p.aRs, p.aCs));
  // The micro-kernel reads A rows with unit column stride, and batch slices one stride
  // apart. A column-major A (a transposed operand: dYᵀ in a weight gradient) is transposed
  // inside the GEMM block by block, each thread into its own buffer; anything else is
  // repacked whole first (resident slices sit where the tensor has them).
  const even = evenlySpaced(aStages);
  const colMajor = aStages[0].cs !== 1 && aStages[0].rs === 1 && aStages[0].cs >= m && even && tasksReady;
  const packA = !colMajor && (aStages[0].cs !== 1 || !even);
  const aPacked = packA ? call.alloc(m * k * aSlices) : aStages[0].ptr;
  const aPackParts = colMajor ? rt.threads : 0;
  const aPack = colMajor ? call.alloc(aPackParts * ex.gemmABlockFloats()) : 0;
  const bStages: { ptr: number; rs: number; cs: number }[] = [];
  if (!cached) for (let t = 0; t < bSlices; t++) bStages.push(stage(call, bResident, p.bSrc, p.bOff[t], k, n, p.bRs, p.bCs));
  // A B that is not to be cached (used once: a weight changed since its last product, an
  // activation) is packed by the GEMM's tasks slice by slice, on every thread, instead of
  // whole before the GEMM on one. Row-major A only (a column-major A's tasks pack A), and
  // not for a B shared by batch entries that did not fold into one GEMM (each entry's tasks
  // would pack it again for their few rows: measured 6-10% slower on a permuted QKV input).
  const sourceB =
    !cached &&
    !fill &&
    tasksReady &&
    !colMajor &&
    (batch === 1 || bSlices > 1) &&
    evenlySpaced(bStages) &&
    allEqual(bStages.map((st) => st.cs));
  const bPackParts = sourceB ? rt.threads : 0;
  const bPack = sourceB ? call.alloc(bPackParts * ex.gemmBBlockFloats()) : 0;
  const bPanels = sourceB ? bStages[0].ptr : cached || fill || call.alloc(panelFloats * bSlices);
  // +16: tiles reload partial sums a whole 16-float panel row wide, past the last column.
  const c = call.out(batch * m * n, PANEL);
  let bias = 0;
  if (p.bias) {
    bias = call.alloc(panels * PANEL);
  }
  if (!call.commit()) {
    if (fill) cache?.abandon(p.bBuf as CpuData, key);
    return -1;
  }
  if (p.bias) call.heap.set(p.bias, bias / 4);
  if (packA) {
    const split = splitsGemm(rt, th, m, n, k, batch);
    for (let t = 0; t < aSlices; t++) {
      const op = { src: aStages[t].ptr, rs: aStages[t].rs, cs: aStages[t].cs, m, k, dst: aPacked + t * m * k * 4 };
      runPackA(rt, th, op, split, localPack);
    }
  }
  if (!cached && !sourceB)
    for (let t = 0; t < bSlices; t++) ex.packB(bStages[t].ptr, bStages[t].rs, bStages[t].cs, k, n, bPanels + t * panelFloats * 4);
  const bBatch = bSlices === 1 ? 0 : sourceB ? bStages[1].ptr - bStages[0].ptr : panelFloats * 4;
  // Unpacked A slices were staged one after another in equal regions (same layout each).
  const aBatch = aSlices === 1 ? 0 : packA ? m * k * 4 : aStages[1].ptr - aStages[0].ptr;
  runGemm(rt, th, {
    a: aPacked,
    aBatch,
    lda: packA ? k : colMajor ? aStages[0].cs : aStages[0].rs,
    b: bPanels,
    bBatch,
    c,
    bias,
    m,
    n,
    k,
    batch,
    aPack,
    aPackParts,
    bPack,
    bPackParts,
    bRs: sourceB ? bStages[0].rs : 0,
    bCs: sourceB ? bStages[0].cs : 0,
  });
  return c;
}

/**
 * One GEMM with `batch * m` rows when the batch is only A's: B is the same slice for every
 * entry and A's entries are `m` rows apart (`[batch, m, k]` stacked on its rows, any column
 * stride), so the output `[batch, m, n]` is the `[batch * m, n]` product. `dY @ W` of a
 * linear layer's 3-D input comes this way (`[T, B, n] @ [n, k]` with W broadcast): as one
 * GEMM the row blocks are whole cache blocks and B is packed once, instead of `batch`
 * products of a few rows that each stream all of B.
 */
function foldBatch(p: GemmOperands): GemmOperands {
  const { batch, m } = p;
  if (batch < 2 || !allEqual(p.bOff)) return p;
  const step = m * p.aRs;
  for (let t = 1; t < batch; t++) if (p.aOff[t] !== p.aOff[0] + t * step) return p;
  return { ...p, aOff: p.aOff.subarray(0, 1), bOff: p.bOff.subarray(0, 1), m: batch * m, batch: 1 };
}

/** Builds the wasm entries for a runtime; `js` are the kernels they fall back to. */
export function wasmKernelTables(
  rt: WasmRuntime,
  th: WasmThresholds,
  js: { kernels: Readonly<CpuPrimitiveTable>; fused: Readonly<CpuFusedTable> },
): { kernels: Partial<CpuPrimitiveTable>; fused: Partial<CpuFusedTable>; release: (buf: CpuData) => void; cache: PackedCache } {
  const ex = rt.exports;
  const f32 = (store: CpuStore, v: TensorView): Float32Array => store.data(v.dataId) as Float32Array;
  const call = new KernelCall(rt);
  const cache = new PackedCache(rt, th.packedCacheBytes);
  const select = wasmSelectKernels(rt, th, call, js.kernels);
  // Made once: the pool runs the caller's share of a transposed A's packing through it.
  const localPack = (q: PartArgs): void => ex.packA(q[0], q[1], q[2], q[3], q[4], q[5]);
  // The caller's share of the other split kernels, one function each (made once).
  const localAttention = (q: PartArgs): void => ex.attentionHeads(q[0], q[1]);
  const localSoftmax = (q: PartArgs): void => ex.softmaxRows(q[0], q[1], q[2], q[3], q[4]);
  const localLayerNorm = (q: PartArgs): void => ex.layerNormPart(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9]);
  const localUnary = (q: PartArgs): void => ex.unary(q[0], q[1], q[2], q[3]);
  const localBinary = (q: PartArgs): void => ex.binaryND(q[0], q[1], q[2], q[3], q[4], q[5]);
  const localSum = (q: PartArgs): void => ex.sumRows(q[0], q[1], q[2], q[3]);
  const localSumCols = (q: PartArgs): void => ex.sumCols(q[0], q[1], q[2], q[3], q[4], q[5]);

  /** float32 matmul, any strides and batch broadcast: packed-panel GEMM. */
  function matmul(store: CpuStore, a: TensorView, b: TensorView): DataId {
    const rank = a.shape.length;
    const m = a.shape[rank - 2];
    const k = a.shape[rank - 1];
    const n = b.shape[rank - 1];
    const batchShape = a.shape.slice(0, rank - 2);
    const batch = sizeOf(batchShape);
    if (a.dtype !== 'float32' || batch * m * n === 0 || k === 0 || batch * m * n * k < th.minMacs) return js.kernels.matmul(store, a, b);
    const c = gemmInWasm(rt, th, call, cache, localPack, {
      aSrc: f32(store, a),
      aOff: stridedOffsets(batchShape, a.strides.slice(0, rank - 2), a.offset),
      aRs: a.strides[rank - 2],
      aCs: a.strides[rank - 1],
      bSrc: f32(store, b),
      bOff: stridedOffsets(batchShape, b.strides.slice(0, rank - 2), b.offset),
      bRs: b.strides[rank - 2],
      bCs: b.strides[rank - 1],
      bBuf: store.buffer(b.dataId),
      bias: null,
      m,
      n,
      k,
      batch,
    });
    if (c < 0) return js.kernels.matmul(store, a, b);
    return call.take(store, c, batch * m * n);
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
    const biasValues = bias ? (rowMajorValues(f32(store, bias), bias) as Float32Array) : null;
    // x's rows in place, as a batch of row blocks: a permuted x (a seq-first view of a
    // batch-first tensor) is no longer gathered in JS first.
    const xr = linearRows(x);
    const c = gemmInWasm(rt, th, call, cache, localPack, {
      aSrc: f32(store, x),
      aOff: stridedOffsets(xr.batchShape, xr.batchStrides, x.offset),
      aRs: xr.rs,
      aCs: x.strides[rank - 1],
      bSrc: f32(store, weight),
      bOff: new Int32Array(xr.batch).fill(weight.offset),
      bRs: weight.strides[1],
      bCs: weight.strides[0],
      bBuf: store.buffer(weight.dataId),
      bias: biasValues,
      m: xr.m,
      n,
      k,
      batch: xr.batch,
    });
    if (c < 0) return js.fused.linear(store, x, weight, bias, attrs);
    const code = activation ? EPILOGUE_CODES[activation] : undefined;
    if (code !== undefined) ex.unary(code, c, c, rows * n);
    const out = call.take(store, c, rows * n);
    if (activation && code === undefined) applyActivation(out.data as Float32Array, activation);
    return out;
  }

  /** Contiguous float32 input of at least `minElements`: the elementwise fast-path test. */
  const big = (v: TensorView): boolean => {
    const size = sizeOf(v.shape);
    return v.dtype === 'float32' && size > 0 && size >= th.minElements && isContiguousView(v);
  };

  /**
   * Plans `v` (float32 or int32, any strides) as a contiguous row-major region: a contiguous
   * view is used where it is (resident) or copied as is; otherwise its compact span goes in
   * and `copyND` reorders it in wasm after the commit ({@link finishContiguous}) into `dst`
   * (a new scratch region when not given). Null when its layout has too many dims. The
   * region may be the tensor itself: kernels write only to `dst`, never to `ptr` otherwise.
   */
  function planContiguous(store: CpuStore, v: TensorView, dst = 0): ContiguousPlan | null {
    const size = sizeOf(v.shape);
    if (isContiguousView(v)) return { ptr: call.copy(store.data(v.dataId), v.offset, size), src: 0, rank: 0, meta: 0 };
    const lay = call.joint(store, v.shape, [v]);
    if (!lay) return null;
    const [src] = lay.operands;
    return { ptr: dst || call.alloc(size), src: src.ptr, rank: lay.shape.length, meta: call.meta(lay.shape, [src.strides]) };
  }

  /** Runs the reorder a {@link planContiguous} plan needs (after `call.commit()`). */
  function finishContiguous(plan: ContiguousPlan): void {
    if (plan.rank > 0) ex.copyND(plan.src, plan.ptr, plan.rank, plan.meta);
  }

  /** Whether the memory span `v` touches is at most about twice its size (what `call.strided` copies as is). */
  const compact = (v: TensorView): boolean => {
    let span = 1;
    for (let d = 0; d < v.shape.length; d++) span += (v.shape[d] - 1) * v.strides[d];
    return span <= 2 * sizeOf(v.shape) + 64;
  };

  /** Whether a wasm elementwise call is worth it for `size` elements. */
  const worth = (size: number): boolean => size > 0 && size >= th.minElements;

  /**
   * float32 ops with a wasm implementation, on any layout (strided, transposed, broadcast);
   * also `identity` (the contiguous copy of a view, `contiguous()`) of float32 and int32
   * views, which is a reorder in wasm.
   */
  function unary(store: CpuStore, x: TensorView, attrs: { op: UnaryOp }): DataId {
    const size = sizeOf(x.shape);
    // A copy goes through wasm only when the view's span is compact (a transpose, a
    // permutation): a sparse one is gathered in JS anyway, and the copies in and out would
    // only add to that.
    const copy = attrs.op === 'identity' && (x.dtype === 'float32' || x.dtype === 'int32') && !isContiguousView(x) && compact(x);
    const code = UNARY_CODES[attrs.op];
    if (!worth(size) || (!copy && (code === undefined || x.dtype !== 'float32'))) return js.kernels.unary(store, x, attrs);
    call.begin();
    const y = call.out(size);
    // A copy gathers straight into its output; an op runs out of place (a strided input is
    // gathered into scratch first), so that a part can be redone exactly (see POOL_OP).
    const plan = planContiguous(store, x, copy ? y : 0);
    if (!plan || !call.commit()) return js.kernels.unary(store, x, attrs);
    finishContiguous(plan);
    if (copy) return call.take(store, y, size, x.dtype);
    const units = Math.ceil(size / FLAT_GRAIN);
    const parts = threadParts(rt, th, units, size);
    const list: PartArgs[] = [];
    for (let p = 0; p < parts; p++) {
      const [e0, e1] = partBounds(units, parts, p, FLAT_GRAIN, size);
      list.push([code as number, plan.ptr + 4 * e0, y + 4 * e0, e1 - e0]);
    }
    runParts(rt, POOL_OP.unary, list, localUnary);
    return call.take(store, y, size);
  }

  /**
   * float32 add/sub/mul/div/maximum/minimum on any layout: both operands go in at their own
   * size (a scalar is one float, a row broadcast one row) and `binaryND` walks the strides.
   */
  function binary(store: CpuStore, a: TensorView, b: TensorView, attrs: { op: BinaryOp }): DataId {
    const code = BINARY_CODES[attrs.op];
    const size = sizeOf(a.shape);
    if (code === undefined || a.dtype !== 'float32' || !worth(size)) return js.kernels.binary(store, a, b, attrs);
    call.begin();
    const lay = call.joint(store, a.shape, [a, b]);
    if (!lay) return js.kernels.binary(store, a, b, attrs);
    const [pa, pb] = lay.operands;
    const y = call.out(size);
    const rank = lay.shape.length;
    const inner = size / lay.shape[0];
    const list = stridedParts(rt, th, call, lay, size, (i0, meta) => [
      code,
      pa.ptr + 4 * i0 * pa.strides[0],
      pb.ptr + 4 * i0 * pb.strides[0],
      y + 4 * i0 * inner,
      rank,
      meta,
    ]);
    if (!call.commit()) return js.kernels.binary(store, a, b, attrs);
    runParts(rt, POOL_OP.binaryND, list, localBinary);
    return call.take(store, y, size);
  }

  /**
   * float32 sum over leading axes (any input layout): the `[rows, cols]` block's columns
   * summed row by row in float64 registers, the columns split over the threads.
   */
  function reduceLeading(store: CpuStore, x: TensorView, lead: number): DataId | null {
    const size = sizeOf(x.shape);
    const cols = sizeOf(x.shape.slice(lead));
    const rows = size / cols;
    // Units of 16 columns: the kernel's register strip, and each thread's output on its own lines.
    const units = Math.ceil(cols / 16);
    const parts = threadParts(rt, th, units, size);
    call.begin();
    const plan = planContiguous(store, x);
    const py = call.out(cols);
    if (!plan || !call.commit()) return null;
    finishContiguous(plan);
    const list: PartArgs[] = [];
    for (let p = 0; p < parts; p++) {
      const [c0, c1] = partBounds(units, parts, p, 16, cols);
      list.push([plan.ptr, py, rows, cols, c0, c1]);
    }
    runParts(rt, POOL_OP.sumCols, list, localSumCols);
    return call.take(store, py, cols);
  }

  /** float32 sum over trailing axes, or over leading ones (any input layout), in float64 lanes. */
  function reduce(store: CpuStore, x: TensorView, attrs: { op: ReduceOp; axes: readonly number[] }): DataId {
    const { op, axes } = attrs;
    const rank = x.shape.length;
    const first = rank - axes.length;
    const trailing = axes.length > 0 && axes.every((d, i) => d === first + i);
    const leading = axes.length > 0 && axes.length < rank && axes.every((d, i) => d === i);
    const size = sizeOf(x.shape);
    if (op === 'sum' && leading && !trailing && x.dtype === 'float32' && worth(size)) {
      return reduceLeading(store, x, axes.length) ?? js.kernels.reduce(store, x, attrs);
    }
    if (op !== 'sum' || !trailing || first < 0 || x.dtype !== 'float32' || !worth(size)) return js.kernels.reduce(store, x, attrs);
    const rows = sizeOf(x.shape.slice(0, first));
    call.begin();
    const plan = planContiguous(store, x);
    const py = call.out(rows);
    if (!plan || !call.commit()) return js.kernels.reduce(store, x, attrs);
    finishContiguous(plan);
    const n = size / rows;
    const parts = threadParts(rt, th, rows, size);
    const list: PartArgs[] = [];
    for (let p = 0; p < parts; p++) {
      const [r0, r1] = partBounds(rows, parts, p, 1, rows);
      list.push([plan.ptr + 4 * r0 * n, py + 4 * r0, r1 - r0, n]);
    }
    runParts(rt, POOL_OP.sumRows, list, localSum);
    return call.take(store, py, rows);
  }

  function softmaxLike(log: boolean, store: CpuStore, x: TensorView, axis: number): DataId | null {
    const rank = x.shape.length;
    const size = sizeOf(x.shape);
    if (rank === 0 || axis !== rank - 1 || x.shape[rank - 1] === 0 || x.dtype !== 'float32' || !worth(size)) return null;
    const n = x.shape[rank - 1];
    call.begin();
    const plan = planContiguous(store, x);
    const y = call.out(size);
    if (!plan || !call.commit()) return null;
    finishContiguous(plan);
    const rows = size / n;
    const parts = threadParts(rt, th, rows, size);
    const list: PartArgs[] = [];
    for (let p = 0; p < parts; p++) {
      const [r0, r1] = partBounds(rows, parts, p, 1, rows);
      list.push([plan.ptr + 4 * r0 * n, y + 4 * r0 * n, r1 - r0, n, log ? 1 : 0]);
    }
    runParts(rt, POOL_OP.softmaxRows, list, localSoftmax);
    return call.take(store, y, size);
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
    const size = sizeOf(x.shape);
    if (n === 0 || x.dtype !== 'float32' || !worth(size)) return js.fused.layerNorm(store, x, weight, bias, attrs);
    const rows = size / n;
    call.begin();
    // Out of place (a strided input is gathered into scratch): a part can be redone exactly.
    const plan = planContiguous(store, x);
    const pw = weight ? call.view(store, weight) : 0;
    const pb = bias ? call.view(store, bias) : 0;
    const pm = call.out(rows);
    const pr = call.out(rows);
    const py = call.out(size);
    if (!plan || !call.commit()) return js.fused.layerNorm(store, x, weight, bias, attrs);
    finishContiguous(plan);
    const [epsLo, epsHi] = f64Bits(attrs.eps);
    const parts = threadParts(rt, th, rows, size);
    const list: PartArgs[] = [];
    for (let p = 0; p < parts; p++) {
      const [r0, r1] = partBounds(rows, parts, p, 1, rows);
      list.push([plan.ptr + 4 * r0 * n, pw, pb, py + 4 * r0 * n, pm + 4 * r0, pr + 4 * r0, r1 - r0, n, epsLo, epsHi]);
    }
    runParts(rt, POOL_OP.layerNorm, list, localLayerNorm);
    return [call.take(store, py, size), call.take(store, pm, rows), call.take(store, pr, rows)];
  }

  /**
   * One Adam/AdamW step in place (see the contract's `adamUpdate`): the targets are
   * contiguous; they go in, one pass of `adamUpdate` runs, and they come back into their
   * own buffers, whose versions go up (the packed cache then drops a stale weight).
   */
  function adamUpdate(
    store: CpuStore,
    param: TensorView,
    grad: TensorView,
    expAvg: TensorView,
    expAvgSq: TensorView,
    maxExpAvgSq: TensorView | null,
    attrs: AdamUpdateAttrs,
  ): void {
    const size = sizeOf(param.shape);
    if (!worth(size)) {
      js.fused.adamUpdate(store, param, grad, expAvg, expAvgSq, maxExpAvgSq, attrs);
      return;
    }
    const targets = maxExpAvgSq ? [param, expAvg, expAvgSq, maxExpAvgSq] : [param, expAvg, expAvgSq];
    call.begin();
    const pp = call.view(store, param);
    const gPlan = planContiguous(store, grad);
    const pm = call.view(store, expAvg);
    const pv = call.view(store, expAvgSq);
    const px = maxExpAvgSq ? call.view(store, maxExpAvgSq) : 0;
    if (!gPlan || !call.commit()) {
      js.fused.adamUpdate(store, param, grad, expAvg, expAvgSq, maxExpAvgSq, attrs);
      return;
    }
    finishContiguous(gPlan);
    const c = adamConstants(attrs);
    ex.adamUpdate(pp, gPlan.ptr, pm, pv, px, size, c.b1, c.c1, c.b2, c.c2, c.bc2, c.eps, c.negStep, c.wd, c.decay, c.flags);
    const ptrs = [pp, pm, pv, px];
    const heap = call.heap;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      const buf = store.buffer(t.dataId);
      // A resident target was updated where it lives; a copied one goes back.
      if (buf.ptr < 0 || ptrs[i] !== buf.ptr + t.offset * 4)
        (buf.data as Float32Array).set(heap.subarray(ptrs[i] >> 2, (ptrs[i] >> 2) + size), t.offset);
      buf.version++;
    }
  }

  function lstmCell(store: CpuStore, gi: TensorView, gh: TensorView, c: TensorView): [DataId, DataId] {
    const hidden = c.shape[c.shape.length - 1];
    const size = sizeOf(c.shape);
    if (gi.dtype !== 'float32' || hidden === 0 || size < th.minElements) return js.fused.lstmCell(store, gi, gh, c);
    call.begin();
    const pi = call.view(store, gi);
    const pg = call.view(store, gh);
    const pc = call.view(store, c);
    const ph = call.out(size);
    const pcOut = call.out(size);
    if (!call.commit()) return js.fused.lstmCell(store, gi, gh, c);
    ex.lstmCell(pi, pg, pc, ph, pcOut, size / hidden, hidden);
    return [call.take(store, ph, size), call.take(store, pcOut, size)];
  }

  function gruCell(store: CpuStore, gi: TensorView, gh: TensorView, h: TensorView): DataId {
    const hidden = h.shape[h.shape.length - 1];
    const size = sizeOf(h.shape);
    if (gi.dtype !== 'float32' || hidden === 0 || size < th.minElements) return js.fused.gruCell(store, gi, gh, h);
    call.begin();
    const pi = call.view(store, gi);
    const pg = call.view(store, gh);
    const ph = call.view(store, h);
    const pOut = call.out(size);
    if (!call.commit()) return js.fused.gruCell(store, gi, gh, h);
    ex.gruCell(pi, pg, ph, pOut, size / hidden, hidden);
    return call.take(store, pOut, size);
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
    call.begin();
    const pi = call.view(store, gi);
    const pg = call.view(store, gh);
    const pc = call.view(store, c);
    const ph = call.view(store, dH);
    const pd = call.view(store, dC);
    const pdg = call.out(4 * size);
    const pdc = call.out(size);
    if (!call.commit()) return js.fused.lstmCellBackward(store, gi, gh, c, dH, dC);
    ex.lstmCellBackward(pi, pg, pc, ph, pd, pdg, pdc, size / hidden, hidden);
    return [call.take(store, pdg, 4 * size), call.take(store, pdc, size)];
  }

  function gruCellBackward(store: CpuStore, gi: TensorView, gh: TensorView, h: TensorView, dH: TensorView): [DataId, DataId, DataId] {
    const hidden = h.shape[h.shape.length - 1];
    const size = sizeOf(h.shape);
    if (gi.dtype !== 'float32' || hidden === 0 || size < th.minElements) return js.fused.gruCellBackward(store, gi, gh, h, dH);
    call.begin();
    const pi = call.view(store, gi);
    const pg = call.view(store, gh);
    const ph = call.view(store, h);
    const pd = call.view(store, dH);
    const pdi = call.out(3 * size);
    const pdg = call.out(3 * size);
    const pdh = call.out(size);
    if (!call.commit()) return js.fused.gruCellBackward(store, gi, gh, h, dH);
    ex.gruCellBackward(pi, pg, ph, pd, pdi, pdg, pdh, size / hidden, hidden);
    return [call.take(store, pdi, 3 * size), call.take(store, pdg, 3 * size), call.take(store, pdh, size)];
  }

  /**
   * Whole attention in one wasm pass per batch entry ({@link KernelExports.attentionHeads}):
   * q, k, v and the mask are read where they are, at their own strides (the heads of a
   * projection viewed `[batch * heads, L, headDim]`, a mask shared by the batch), with no
   * copy unless q's feature dim is strided (q is then made contiguous first); each entry
   * packs kᵀ and v, then per block of query rows runs `q kᵀ` on the blocked GEMM into the
   * block's weight rows, the scale / mask / causal softmax in place and `weights v`, while
   * the block is in L1. The caller and the worker pool claim entries one at a time (a thread
   * slowed down by other processes delays the call by one entry, not by its whole share).
   * Small problems run the JS kernel.
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
    if (q.dtype !== 'float32' || B * L * S * Math.max(E, Ev) < th.minMacs || E === 0 || S === 0 || Ev === 0) {
      return js.fused.attention(store, q, k, v, mask, attrs);
    }
    const pool = rt.workers;
    const parts = pool && B > 1 && B * L * S * (E + Ev) >= th.threadMinMacs ? Math.min(B, pool.available() + 1) : 1;
    const scratchFloats = ex.attentionScratch(S, E, Ev);
    call.begin();
    // The GEMM reads q's rows in place when its features are adjacent; otherwise (or when
    // the view is too sparse to pass as is) q is reordered into a contiguous copy.
    let pq: StridedOperand;
    let qPlan: ContiguousPlan | null = null;
    if (E === 1 || q.strides[2] === 1) {
      pq = call.strided(store, q, q.shape, q.strides);
    } else {
      qPlan = planContiguous(store, q);
      if (!qPlan) return js.fused.attention(store, q, k, v, mask, attrs);
      pq = { ptr: qPlan.ptr, strides: [L * E, E, 1] };
    }
    const pk = call.strided(store, k, k.shape, k.strides);
    const pv = call.strided(store, v, v.shape, v.strides);
    const pm = mask ? call.strided(store, mask, [B, L, S], mask.strides) : null;
    // +PANEL: the GEMM tiles may read a 16-float row past the last one.
    const pw = call.out(B * L * S, PANEL);
    const po = call.out(B * L * Ev, PANEL);
    const scratch: number[] = [];
    for (let p = 0; p < parts; p++) scratch.push(call.alloc(scratchFloats));
    // The operand block of assembly/kernels.ts attentionHeads, word for word: operands,
    // sizes, then the entry count, the claim counter and one done flag per entry.
    const words = [
      pq.ptr,
      pq.strides[0],
      pq.strides[1],
      pk.ptr,
      ...pk.strides,
      pv.ptr,
      ...pv.strides,
      pm ? pm.ptr : 0,
      ...(pm ? pm.strides : [0, 0, 0]),
      po,
      pw,
      L,
      S,
      E,
      Ev,
      f32Bits(attrs.scale),
      attrs.causal ? 1 : 0,
      B,
      0,
    ];
    for (let b = 0; b < B; b++) words.push(0);
    const args = call.words(words);
    if (!call.commit()) return js.fused.attention(store, q, k, v, mask, attrs);
    if (qPlan) finishContiguous(qPlan);
    const list: PartArgs[] = [];
    for (let p = 0; p < parts; p++) list.push([args, scratch[p]]);
    runParts(rt, POOL_OP.attention, list, localAttention);
    // Entries a worker claimed and never finished (it died mid-way), on the caller.
    ex.attentionFinish(args, scratch[0]);
    return [call.take(store, po, B * L * Ev), call.take(store, pw, B * L * S)];
  }

  return {
    kernels: { matmul, unary, binary: select.withCompare(binary), reduce, where: select.where, concat: select.concat },
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
      adamUpdate,
      ...wasmLogSoftmaxGatherKernels(rt, th, call, js.fused),
      ...wasmRecurrentKernels(rt, th, js.fused, cache, linear),
    },
    release: (buf: CpuData) => cache.drop(buf),
    cache,
  };
}
