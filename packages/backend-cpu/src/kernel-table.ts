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
import { recurrentSequence, recurrentSequenceBackward, recurrentSequenceBidirectional } from './kernels/fused/recurrent-sequence.js';
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
});
