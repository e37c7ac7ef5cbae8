/**
 * The block allocator over a wasm memory: resident tensor storage, packed GEMM weights and
 * kernel outputs all come from it. Bookkeeping lives in JavaScript maps (no headers in the
 * memory), so a block is exactly the bytes asked for, rounded to {@link HEAP_ALIGN}.
 *
 * - Small blocks (up to {@link SMALL_MAX} bytes) are rounded to a size class and, when freed,
 *   kept on that class's free stack for the next allocation of the class (O(1), and no
 *   first-touch page faults: the bytes were written before). The stacks hold at most
 *   `cacheLimit` bytes in all; beyond it, and whenever the heap would otherwise have to
 *   grow, cached blocks go back to the general pool.
 * - Everything else is best-fit from a free list that coalesces neighbours on free.
 * - The heap is `[base, end)`; what lies above `end` is the kernels' scratch. A free block
 *   that reaches `end` lowers it, so freed tensor memory becomes scratch room again. A wasm
 *   memory cannot shrink, so the pages stay committed to the process: the high-water mark
 *   is what the memory keeps (the allocator's job is that it is not exceeded needlessly).
 * - Growing while a kernel's scratch is in use (`guard` above `end`) places the new block
 *   above the scratch; the gap in between is handed to the pool only at {@link
 *   HeapAllocator.settle}, when that scratch is no longer in use.
 */

/** Alignment and granularity of every block: a cache line (and a multiple of SIMD's 16 bytes). */
export const HEAP_ALIGN = 64;
/** Largest block served from the size-class stacks. */
export const SMALL_MAX = 64 * 1024;
/** Default bound on the bytes the size-class stacks keep. */
export const DEFAULT_CACHE_LIMIT = 32 * 2 ** 20;

const align = (n: number): number => Math.ceil(n / HEAP_ALIGN) * HEAP_ALIGN;

/**
 * The size class of a small request: 64-byte steps up to 1 KiB, then four classes per
 * doubling (so at most 25% is lost to rounding).
 */
function classSize(bytes: number): number {
  if (bytes <= 1024) return align(Math.max(bytes, 1));
  const step = 2 ** (Math.floor(Math.log2(bytes - 1)) - 2);
  return Math.ceil(bytes / step) * step;
}

/** Counters of an allocator (for tests and diagnostics). */
export interface HeapStats {
  /** Bytes in allocated blocks (after rounding). */
  usedBytes: number;
  /** Allocated blocks. */
  blocks: number;
  /** Bytes in free blocks below `end` (size-class stacks included, pending gaps not). */
  freeBytes: number;
  /** Bytes on the size-class stacks. */
  cachedBytes: number;
  /** The heap's end (first byte above the last block). */
  end: number;
}

/** A best-fit, coalescing allocator with size-class caches over `[base, end)`. */
export class HeapAllocator {
  /** Allocated blocks: start -> bytes. */
  private readonly used = new Map<number, number>();
  /** Free blocks of the pool: start -> bytes (never adjacent: they are merged). */
  private readonly freeAt = new Map<number, number>();
  /** Free blocks of the pool: end -> start. */
  private readonly freeEnd = new Map<number, number>();
  /** Size-class stacks: class bytes -> free starts. */
  private readonly classes = new Map<number, number[]>();
  /** Gaps left below a block placed above an in-use scratch region (start, bytes pairs). */
  private pending: number[] = [];
  private cached = 0;
  private usedBytes = 0;
  /** First byte above the heap. */
  end: number;
  /**
   * The top of the scratch region in use now: a block the heap grows by goes at or above
   * it. The runtime raises it as a kernel lays its operands out and lowers it to `end`
   * when a new kernel call starts ({@link HeapAllocator.settle}).
   */
  guard: number;

  /**
   * @param base first byte of the heap (aligned up to {@link HEAP_ALIGN})
   * @param grow makes the memory at least `end` bytes long; false when it cannot
   * @param cacheLimit most bytes the size-class stacks keep
   */
  constructor(
    base: number,
    private readonly grow: (end: number) => boolean,
    private readonly cacheLimit = DEFAULT_CACHE_LIMIT,
  ) {
    this.end = align(base);
    this.guard = this.end;
  }

  /**
   * A block of at least `bytes` bytes, {@link HEAP_ALIGN}-aligned, or 0 when the memory
   * cannot grow that far (the caller then keeps the data outside the memory). Its contents
   * are whatever was there: fresh memory is zero, a reused block is not.
   */
  alloc(bytes: number): number {
    if (bytes <= SMALL_MAX) {
      const size = classSize(bytes);
      const stack = this.classes.get(size);
      if (stack && stack.length > 0) {
        const p = stack.pop() as number;
        this.cached -= size;
        return this.use(p, size);
      }
      return this.fromPool(size);
    }
    return this.fromPool(align(bytes));
  }

  /** Frees a block from {@link HeapAllocator.alloc}; an unknown start is an internal error. */
  free(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) throw new Error(`internal error: heap block ${ptr} freed but not allocated (or freed twice)`);
    this.used.delete(ptr);
    this.usedBytes -= size;
    if (size <= SMALL_MAX && size === classSize(size) && this.cached + size <= this.cacheLimit) {
      let stack = this.classes.get(size);
      if (!stack) {
        stack = [];
        this.classes.set(size, stack);
      }
      stack.push(ptr);
      this.cached += size;
      return;
    }
    this.release(ptr, size);
  }

  /** Bytes of the block at `ptr` (0 when none is allocated there). */
  sizeOf(ptr: number): number {
    return this.used.get(ptr) ?? 0;
  }

  /**
   * Starts a new scratch epoch: the previous kernel's scratch is no longer in use, so the
   * gaps below blocks placed above it join the pool, and the guard drops to the heap's end.
   */
  settle(): void {
    if (this.pending.length > 0) {
      const gaps = this.pending;
      this.pending = [];
      for (let i = 0; i < gaps.length; i += 2) this.release(gaps[i], gaps[i + 1]);
    }
    this.guard = this.end;
  }

  /** Moves every size-class block back to the pool (where it can merge with its neighbours). */
  flush(): void {
    for (const size of this.classes.keys()) {
      const stack = this.classes.get(size) as number[];
      for (let i = 0; i < stack.length; i++) this.release(stack[i], size);
      stack.length = 0;
    }
    this.cached = 0;
  }

  /** The counters now. */
  stats(): HeapStats {
    let free = this.cached;
    for (const b of this.freeAt.values()) free += b;
    return { usedBytes: this.usedBytes, blocks: this.used.size, freeBytes: free, cachedBytes: this.cached, end: this.end };
  }

  private use(p: number, size: number): number {
    this.used.set(p, size);
    this.usedBytes += size;
    return p;
  }

  /** Best fit from the pool, else (after flushing the class stacks) the heap grows. */
  private fromPool(size: number): number {
    const p = this.bestFit(size);
    if (p) return p;
    if (this.cached > 0) {
      this.flush();
      const q = this.bestFit(size);
      if (q) return q;
    }
    return this.extend(size);
  }

  private bestFit(size: number): number {
    let best = 0;
    let bestSize = Number.POSITIVE_INFINITY;
    // Keys, then a lookup: iterating the map's entries makes a [key, value] array per block.
    for (const start of this.freeAt.keys()) {
      const bytes = this.freeAt.get(start) as number;
      if (bytes >= size && bytes < bestSize) {
        best = start;
        bestSize = bytes;
        if (bytes === size) break;
      }
    }
    if (!best) return 0;
    this.unlink(best, bestSize);
    if (bestSize > size) this.link(best + size, bestSize - size);
    return this.use(best, size);
  }

  private extend(size: number): number {
    let start = Math.max(this.end, align(this.guard));
    // A free block touching the end grows in place (when no scratch sits above it).
    const tail = start === this.end ? this.freeEnd.get(this.end) : undefined;
    if (tail !== undefined) start = tail;
    if (!this.grow(start + size)) return 0;
    if (tail !== undefined) this.unlink(tail, this.end - tail);
    else if (start > this.end) this.pending.push(this.end, start - this.end);
    this.end = start + size;
    return this.use(start, size);
  }

  /** Returns `[start, start + size)` to the pool, merged with free neighbours; the end drops when it reaches it. */
  private release(ptr: number, bytes: number): void {
    let start = ptr;
    let size = bytes;
    const prev = this.freeEnd.get(start);
    if (prev !== undefined) {
      this.unlink(prev, start - prev);
      size += start - prev;
      start = prev;
    }
    const next = this.freeAt.get(start + size);
    if (next !== undefined) {
      this.unlink(start + size, next);
      size += next;
    }
    if (start + size === this.end) {
      this.end = start;
      return;
    }
    this.link(start, size);
  }

  private link(start: number, size: number): void {
    this.freeAt.set(start, size);
    this.freeEnd.set(start + size, start);
  }

  private unlink(start: number, size: number): void {
    this.freeAt.delete(start);
    this.freeEnd.delete(start + size);
  }
}
