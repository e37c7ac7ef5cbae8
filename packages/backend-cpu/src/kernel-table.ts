/**
 * The CPU backend's kernel tables: one plain function per kernel, each taking the backend's
 * {@link CpuStore} first. Keeping the implementations in a table (instead of methods on a
 * class) is what lets a faster implementation, e.g. a WebAssembly SIMD GEMM, replace one
 * entry through `createCpuBackend({ kernels: { matmul } })` while every other kernel stays
 * the reference JavaScript one.
 */
import type { FusedKernels, PrimitiveKernels } from '@ghostflow/core';
import type { CpuStore } from './storage.js';
import { argReduce } from './kernels/arg-reduce.js';
import { binary } from './kernels/binary.js';
import { cast } from './kernels/cast.js';
import { concat } from './kernels/concat.js';
import { cumsum } from './kernels/cumsum.js';
import { fill } from './kernels/fill.js';
import { gather } from './kernels/gather.js';
import { adamUpdate } from './kernels/fused/adam-update.js';
import { attention } from './kernels/fused/attention.js';
import { gruCell, gruCellBackward } from './kernels/fused/gru-cell.js';
import { layerNorm } from './kernels/fused/layer-norm.js';
import { linear } from './kernels/fused/linear.js';
import { lstmCell, lstmCellBackward } from './kernels/fused/lstm-cell.js';
import { recurrentLayer } from './kernels/fused/recurrent-layer.js';
import { recurrentSequence, recurrentSequenceBackward, recurrentSequenceBidirectional } from './kernels/fused/recurrent-sequence.js';
import { logSoftmaxGather, logSoftmaxGatherBackward } from './kernels/fused/log-softmax-gather.js';
import { logSoftmax, softmax } from './kernels/fused/softmax.js';
import { matmul } from './kernels/matmul.js';
import { reduce } from './kernels/reduce.js';
import { scatter } from './kernels/scatter.js';
import { unary } from './kernels/unary.js';
import { where } from './kernels/where.js';
import { write } from './kernels/write.js';

/** A contract kernel's signature with the backend's store prepended. */
export type WithStore<F> = F extends (...args: infer A) => infer R ? (store: CpuStore, ...args: A) => R : never;

/** One implementation per primitive kernel. */
export type CpuPrimitiveTable = { [K in keyof PrimitiveKernels]: WithStore<PrimitiveKernels[K]> };

/** One implementation per fused kernel. */
export type CpuFusedTable = { [K in keyof FusedKernels]: WithStore<FusedKernels[K]> };

/** The reference JavaScript implementation of every primitive kernel. */
export const CPU_PRIMITIVE_KERNELS: Readonly<CpuPrimitiveTable> = Object.freeze({
  unary,
  binary,
  cast,
  where,
  reduce,
  argReduce,
  matmul,
  gather,
  scatter,
  cumsum,
  concat,
  fill,
  write,
});

/** The reference JavaScript implementation of every fused kernel of the contract. */
export const CPU_FUSED_KERNELS: Readonly<CpuFusedTable> = Object.freeze({
  linear,
  softmax,
  logSoftmax,
  layerNorm,
  lstmCell,
  gruCell,
  lstmCellBackward,
  gruCellBackward,
  attention,
  recurrentSequence,
  recurrentSequenceBackward,
  adamUpdate,
  recurrentSequenceBidirectional,
  recurrentLayer,
  logSoftmaxGather,
  logSoftmaxGatherBackward,
});

/**
 * The primitive kernels of table `k` with `store` bound, as the contract takes them (arrow
 * functions, so they work however core binds `this`).
 */
export function bindPrimitiveKernels(store: CpuStore, k: Readonly<CpuPrimitiveTable>): PrimitiveKernels {
  return {
    unary: (x, attrs) => k.unary(store, x, attrs),
    binary: (a, b, attrs) => k.binary(store, a, b, attrs),
    cast: (x, attrs) => k.cast(store, x, attrs),
    where: (cond, a, b) => k.where(store, cond, a, b),
    reduce: (x, attrs) => k.reduce(store, x, attrs),
    argReduce: (x, attrs) => k.argReduce(store, x, attrs),
    matmul: (a, b) => k.matmul(store, a, b),
    gather: (x, index, attrs) => k.gather(store, x, index, attrs),
    scatter: (base, index, src, attrs) => k.scatter(store, base, index, src, attrs),
    cumsum: (x, attrs) => k.cumsum(store, x, attrs),
    concat: (inputs, attrs) => k.concat(store, inputs, attrs),
    fill: (attrs) => k.fill(store, attrs),
    write: (target, src) => k.write(store, target, src),
  };
}

/** The fused kernels of table `f` with `store` bound (as {@link bindPrimitiveKernels}). */
export function bindFusedKernels(store: CpuStore, f: Readonly<CpuFusedTable>): FusedKernels {
  return {
    linear: (x, weight, bias, attrs) => f.linear(store, x, weight, bias, attrs),
    softmax: (x, attrs) => f.softmax(store, x, attrs),
    logSoftmax: (x, attrs) => f.logSoftmax(store, x, attrs),
    layerNorm: (x, weight, bias, attrs) => f.layerNorm(store, x, weight, bias, attrs),
    lstmCell: (gi, gh, c) => f.lstmCell(store, gi, gh, c),
    gruCell: (gi, gh, h) => f.gruCell(store, gi, gh, h),
    lstmCellBackward: (gi, gh, c, dH, dC) => f.lstmCellBackward(store, gi, gh, c, dH, dC),
    gruCellBackward: (gi, gh, h, dH) => f.gruCellBackward(store, gi, gh, h, dH),
    attention: (q, k, v, mask, attrs) => f.attention(store, q, k, v, mask, attrs),
    recurrentSequence: (gi, h0, c0, wHh, bHh, wHr, attrs) => f.recurrentSequence(store, gi, h0, c0, wHh, bHh, wHr, attrs),
    recurrentSequenceBackward: (wHh, wHr, y, ws, dY, dHN, dCN, attrs) =>
      f.recurrentSequenceBackward(store, wHh, wHr, y, ws, dY, dHN, dCN, attrs),
    adamUpdate: (param, grad, m, v, vmax, attrs) => f.adamUpdate(store, param, grad, m, v, vmax, attrs),
    recurrentSequenceBidirectional: (fwd, rev, attrs) => f.recurrentSequenceBidirectional(store, fwd, rev, attrs),
    recurrentLayer: (x, directions, attrs) => f.recurrentLayer(store, x, directions, attrs),
    logSoftmaxGather: (x, index) => f.logSoftmaxGather(store, x, index),
    logSoftmaxGatherBackward: (x, stats, index, g) => f.logSoftmaxGatherBackward(store, x, stats, index, g),
  };
}
