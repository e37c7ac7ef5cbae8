/**
 * What a backend is: storage it owns (upload, read, free), the primitive kernels, any
 * optional fused kernels, and memory statistics.
 */
import type { DType, DTypeArrayMap } from '../dtype.js';
import type { DataId, FusedKernels, IndexFault, PrimitiveKernels } from './kernels.js';

/**
 * The version of the kernel contract this core speaks. A backend declares the one it targets.
 * v2 added the `write` primitive (in-place ops); v3 made `lstmCell` / `lstmCellBackward` take
 * the input and hidden gate sums apart (`gi`, `gh`, like `gruCell`) instead of pre-summed gates.
 */
export const KERNEL_CONTRACT_VERSION = 3;

/** Memory statistics a backend reports. */
export interface BackendMemory {
  /** Buffers currently allocated (live data handles). */
  buffers: number;
  /** Bytes held by live buffers. */
  bytes: number;
  /** Bytes allocated over the backend's lifetime (monotonic). */
  bytesAllocatedTotal: number;
  /** Peak of `bytes`. */
  peakBytes: number;
}

/**
 * A compute backend. Implement this (see docs/writing-a-backend.md), run
 * `@ghostflow/backend-conformance` against it, and register it with `registerBackend`.
 */
export interface Backend {
  /** The name it is registered under. */
  readonly name: string;
  /** The contract version it was written against ({@link KERNEL_CONTRACT_VERSION}). */
  readonly contractVersion: number;
  /** Every primitive kernel. */
  readonly kernels: PrimitiveKernels;
  /** The fused kernels it has; core composes primitives for the rest. */
  readonly fused: Partial<FusedKernels>;
  /**
   * Copies host values into a new buffer. The backend must not keep a reference to `values`
   * after returning (core may reuse it). `values.length` is the element count.
   */
  upload<D extends DType>(values: DTypeArrayMap[D], dtype: D): DataId;
  /** Reads `size` elements of a buffer, after all enqueued work that writes it. */
  read<D extends DType>(dataId: DataId, dtype: D, size: number): Promise<DTypeArrayMap[D]>;
  /** Synchronous read; present only on backends that can read without waiting. */
  readSync?<D extends DType>(dataId: DataId, dtype: D, size: number): DTypeArrayMap[D];
  /** Frees a buffer. Core calls it exactly once per handle, when no tensor uses it any more. */
  disposeData(dataId: DataId): void;
  /** Current memory statistics. */
  memory(): BackendMemory;
  /** Resolves when all enqueued work has finished (a no-op for synchronous backends). */
  sync?(): Promise<void>;
  /** Releases everything the backend holds (device, workers). */
  dispose?(): void;
  /**
   * Returns the first {@link IndexFault} recorded since the last call and forgets it (so it
   * is reported once), or null. Core calls it right after every `read`/`readSync`/`sync`
   * resolves and throws an `IndexError` for a fault. It must cover every gather/scatter
   * enqueued before that read or sync (collect the kernels' flags with the read, not
   * later); faults of later kernels wait for a later call. Faults met while one is still
   * untaken may be merged into it. Optional in the type, so older backends still compile;
   * a backend without `readSync` needs it (core cannot check indices before the kernels
   * run there), and the conformance kit fails such a backend without it.
   */
  takeIndexFault?(): IndexFault | null;
  /**
   * Set (to a description of the adapter) when the backend runs on a software fallback, such
   * as a WebGPU fallback adapter (SwiftShader, llvmpipe): usually slower than the cpu
   * backend. `ready()` and automatic selection skip such a backend unless
   * `ready({ allowFallbackAdapter: true })`; `setBackend(name)` still uses it.
   */
  readonly fallbackAdapter?: string;
}

/** Creates a backend instance; may be async (e.g. requesting a GPU device). */
export type BackendFactory = () => Backend | Promise<Backend>;
