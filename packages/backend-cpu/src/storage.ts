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
 * Where resident buffers live: a block allocator over a memory that never detaches its
 * views (a shared wasm memory; see `WasmRuntime.resident`). The store places every buffer
 * it allocates there when it has one, and falls back to a plain typed array when the
 * memory is full.
 */
export interface ResidentMemory {
  /** A block of at least `bytes` bytes (16-byte aligned at least), or 0 when none can be had. */
  alloc(bytes: number): number;
  /** Returns a block from `alloc`. */
  free(ptr: number): void;
  /** The memory's buffer now (views over it stay valid after the memory grows). */
  readonly buffer: ArrayBufferLike;
}

/** The typed array of `dtype` over `count` elements of `buffer` at byte offset `ptr`. */
export function arrayAt(buffer: ArrayBufferLike, dtype: DType, ptr: number, count: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, ptr, count);
    case 'int32':
      return new Int32Array(buffer, ptr, count);
    case 'bool':
      return new Uint8Array(buffer, ptr, count);
    default:
      throw new BackendError(`internal error: the cpu backend cannot place a buffer of dtype '${String(dtype)}'`);
  }
}

/**
 * The CPU backend's data handle: a typed array plus its dtype. Core treats it as opaque;
 * `data` becomes null once the buffer is disposed so that use-after-free is caught instead
 * of silently reading stale numbers. A resident buffer's array is a view over the wasm
 * memory at byte offset `ptr` (wasm kernels take that address, no copy); a non-resident
 * one (`ptr` -1) is a plain typed array.
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
  /** Byte offset of the block in the wasm memory for a resident buffer, -1 otherwise. */
  readonly ptr: number;

  /** Wraps `data` (taken over, not copied); `ptr` is its block when it is a view over the wasm memory. */
  constructor(data: TypedArray, dtype: DType, ptr = -1) {
    this.data = data;
    this.dtype = dtype;
    this.bytes = data.length * bytesPerElement(dtype);
    this.ptr = ptr;
  }
}

/** Allocation, lookup and statistics shared by every kernel of one backend instance. */
export class CpuStore {
  private readonly stats: BackendMemory = { buffers: 0, bytes: 0, bytesAllocatedTotal: 0, peakBytes: 0 };
  /** The first index fault since the last take (later ones merge into it). */
  private fault: IndexFault | null = null;
  /** Called with each buffer as it is freed (caches drop what they derived from it). */
  onDispose: ((buf: CpuData) => void) | null = null;

  /** @param resident the memory buffers are placed in, or null for plain typed arrays only */
  constructor(readonly resident: ResidentMemory | null = null) {}

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
    const buf = this.allocUninit(dtype, size);
    // A reused block holds its last owner's values; fresh memory and new arrays are zero.
    if (buf.ptr >= 0) (buf.data as TypedArray).fill(0);
    return buf;
  }

  /**
   * A new buffer whose values are unspecified (the caller overwrites all of them): resident
   * when the store has a memory with room, a plain typed array otherwise.
   */
  allocUninit(dtype: DType, size: number): CpuData {
    const mem = this.resident;
    if (mem && size > 0) {
      const ptr = mem.alloc(size * bytesPerElement(dtype));
      if (ptr !== 0) return this.adoptResident(ptr, size, dtype);
    }
    return this.adopt(allocArray(dtype, size), dtype);
  }

  /**
   * Registers the block at `ptr` (from the store's resident memory, `size` elements of
   * `dtype`, already filled) as a live buffer; disposing it frees the block.
   */
  adoptResident(ptr: number, size: number, dtype: DType): CpuData {
    const mem = this.resident;
    if (!mem) throw new BackendError('internal error: adoptResident on a cpu store without resident memory');
    return this.register(new CpuData(arrayAt(mem.buffer, dtype, ptr, size), dtype, ptr));
  }

  /**
   * Registers an array a kernel has already filled as a live buffer. The array must be of
   * the typed-array kind that stores `dtype` and must not be referenced elsewhere.
   */
  adopt(data: TypedArray, dtype: DType): CpuData {
    return this.register(new CpuData(data, dtype));
  }

  private register(buf: CpuData): CpuData {
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
    if (id.ptr >= 0) this.resident?.free(id.ptr);
    this.stats.buffers--;
    this.stats.bytes -= id.bytes;
  }

  /** A snapshot of the statistics (a copy, so callers cannot disturb the counters). */
  memory(): BackendMemory {
    return { ...this.stats };
  }
}
