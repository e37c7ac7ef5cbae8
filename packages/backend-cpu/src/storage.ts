/**
 * Host storage for the CPU backend: the `DataId` objects it hands to core and the memory
 * statistics it reports. Kernels allocate every output through {@link CpuStore.alloc} so
 * that the numbers in `memory()` count exactly the buffers core can still see.
 */
import {
  type BackendMemory,
  type DType,
  type DataId,
  type IndexFault,
  type TypedArray,
  BackendError,
  allocArray,
  bytesPerElement,
} from '@ghostflow/core';

/**
 * The CPU backend's data handle: a typed array plus its dtype. Core treats it as opaque;
 * `data` becomes null once the buffer is disposed so that use-after-free is caught instead
 * of silently reading stale numbers.
 */
export class CpuData {
  /** The values; null after `disposeData`. */
  data: TypedArray | null;
  /** Element type of `data`. */
  readonly dtype: DType;
  /** Bytes this buffer counts for in the statistics. */
  readonly bytes: number;
  /**
   * Times the buffer was changed in place (`write`, `adamUpdate`): the backend's own
   * version counter, which caches derived from the values (packed GEMM weights) check.
   */
  version = 0;

  /** Wraps `data` (taken over, not copied). */
  constructor(data: TypedArray, dtype: DType) {
    this.data = data;
    this.dtype = dtype;
    this.bytes = data.length * bytesPerElement(dtype);
  }
}

/** Allocation, lookup and statistics shared by every kernel of one backend instance. */
export class CpuStore {
  private readonly stats: BackendMemory = { buffers: 0, bytes: 0, bytesAllocatedTotal: 0, peakBytes: 0 };
  /** The first index fault since the last take (later ones merge into it). */
  private fault: IndexFault | null = null;
  /** Called with each buffer as it is freed (caches drop what they derived from it). */
  onDispose: ((buf: CpuData) => void) | null = null;

  /**
   * Records an out-of-range index a gather/scatter kernel skipped. Only the first one is
   * kept until {@link CpuStore.takeIndexFault}: one bad call gives one error.
   */
  recordIndexFault(fault: IndexFault): void {
    this.fault ??= fault;
  }

  /** The recorded fault, forgotten once taken (so it is reported exactly once). */
  takeIndexFault(): IndexFault | null {
    const f = this.fault;
    this.fault = null;
    return f;
  }

  /**
   * A new zeroed buffer of `size` elements, counted as live until disposed. Kernels look
   * up all their inputs before calling this, so a bad handle throws without leaking an
   * output nobody will ever free.
   */
  alloc(dtype: DType, size: number): CpuData {
    return this.adopt(allocArray(dtype, size), dtype);
  }

  /**
   * Registers an array a kernel has already filled as a live buffer. The array must be of
   * the typed-array kind that stores `dtype` and must not be referenced elsewhere.
   */
  adopt(data: TypedArray, dtype: DType): CpuData {
    const buf = new CpuData(data, dtype);
    this.stats.buffers++;
    this.stats.bytes += buf.bytes;
    this.stats.bytesAllocatedTotal += buf.bytes;
    if (this.stats.bytes > this.stats.peakBytes) this.stats.peakBytes = this.stats.bytes;
    return buf;
  }

  /** The live buffer behind a handle; throws on foreign or disposed handles. */
  buffer(id: DataId): CpuData {
    if (!(id instanceof CpuData)) {
      throw new BackendError(
        'internal error: the cpu backend was given a data handle it did not create (a tensor from another backend reached a cpu kernel)',
      );
    }
    if (id.data === null) throw new BackendError('internal error: the cpu backend was given a data handle that was already disposed');
    return id;
  }

  /** The typed array behind a handle. */
  data(id: DataId): TypedArray {
    return this.buffer(id).data as TypedArray;
  }

  /** Frees a buffer. Core frees each handle once, so a second call means a core bug: fail loudly. */
  dispose(id: DataId): void {
    if (!(id instanceof CpuData)) {
      throw new BackendError('internal error: disposeData was given a handle the cpu backend did not create');
    }
    if (id.data === null)
      throw new BackendError('internal error: disposeData called twice on the same cpu buffer (core must free each handle exactly once)');
    id.data = null;
    this.onDispose?.(id);
    this.stats.buffers--;
    this.stats.bytes -= id.bytes;
  }

  /** A snapshot of the statistics (a copy, so callers cannot disturb the counters). */
  memory(): BackendMemory {
    return { ...this.stats };
  }
}
