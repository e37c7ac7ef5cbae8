/**
 * One backend's WebAssembly state: the memory JavaScript owns (shared when the engine has
 * SharedArrayBuffer, so worker threads can use it), the main-thread instance, and the worker
 * pool. The memory is a heap ({@link HeapAllocator}: resident tensor storage, kernel
 * outputs, packed GEMM weights) from `HEAP_BASE` to its end, and above that the scratch of
 * the kernel call running now ({@link ScratchLayout}: copies of operands that are not
 * resident, temporaries).
 */
import type { CpuPath, WasmBuild } from './detect.js';
import type { ResidentMemory } from '../storage.js';
import { HeapAllocator } from './allocator.js';
import { WorkerPool } from './pool.js';

/** Construction options of a {@link WasmRuntime} (tests use them to force the unshared layout). */
export interface RuntimeOptions {
  /** false: an unshared memory even where SharedArrayBuffer exists (threads then stay at 1). */
  shared?: boolean;
  /** false: keep tensor storage in JS typed arrays even with a shared memory. */
  resident?: boolean;
  /** Most bytes the allocator's size-class stacks keep. */
  cacheLimit?: number;
}

/**
 * The argument list of the GEMM entries (assembly/kernels.ts), `gemm` and `gemmTasks` alike:
 * A (rows `lda` elements apart), packed B, C, the byte strides between batch entries (0 =
 * broadcast), the bias (0 = none) and the sizes; then two words, `x` and `y`, that say which
 * tasks run: for `gemm` tasks [x, y) on the calling thread, for `gemmTasks` the control
 * block's address and the part's index.
 */
export type GemmArgs = [
  a: number,
  aBatch: number,
  lda: number,
  b: number,
  bBatch: number,
  c: number,
  cBatch: number,
  bias: number,
  m: number,
  n: number,
  k: number,
  x: number,
  y: number,
];

/** The kernel module's exports (assembly/kernels.ts). Pointers are byte offsets. */
export interface KernelExports {
  packB(src: number, rs: number, cs: number, k: number, n: number, dst: number): void;
  packA(src: number, rs: number, cs: number, m: number, k: number, dst: number): void;
  /** GEMM tasks [x, y) on the calling thread ({@link GemmArgs}). */
  gemm(...args: GemmArgs): void;
  /** One thread's part of a shared GEMM: claims tasks from the control block at `x`; `y` is the part ({@link GemmArgs}). */
  gemmTasks(...args: GemmArgs): void;
  gemmABlockFloats(): number;
  gemmBBlockFloats(): number;
  unary(op: number, x: number, y: number, count: number): void;
  binary(op: number, a: number, b: number, y: number, count: number): void;
  sumRows(x: number, y: number, rows: number, n: number): void;
  sumCols(x: number, y: number, rows: number, n: number, c0: number, c1: number): void;
  softmaxRows(x: number, y: number, rows: number, n: number, log: number): void;
  logSoftmaxGatherRows(x: number, index: number, picked: number, stats: number, rows: number, n: number): void;
  logSoftmaxGatherBackwardRows(x: number, stats: number, index: number, g: number, dx: number, rows: number, n: number): void;
  layerNormRows(x: number, w: number, b: number, y: number, mean: number, rstd: number, rows: number, n: number, eps: number): void;
  lstmCell(gi: number, gh: number, c: number, h: number, cOut: number, batch: number, hidden: number): void;
  gruCell(gi: number, gh: number, h: number, hOut: number, batch: number, hidden: number): void;
  lstmCellBackward(
    gi: number,
    gh: number,
    c: number,
    dH: number,
    dC: number,
    dGates: number,
    dCPrev: number,
    batch: number,
    hidden: number,
  ): void;
  recurrentPhase(args: number, phase: number, u0: number, u1: number): void;
  recurrentForwardFinish(args: number): void;
  recurrentBackwardFinish(args: number): void;
  gruCellBackward(
    gi: number,
    gh: number,
    h: number,
    dH: number,
    dGi: number,
    dGh: number,
    dHPrev: number,
    batch: number,
    hidden: number,
  ): void;
  attentionScratch(S: number, E: number, Ev: number): number;
  /**
   * Attention: claims entries from the operand block at `args` (layout on the assembly
   * function) until none is left; `scratch` holds {@link attentionScratch} floats.
   */
  attentionHeads(args: number, scratch: number): void;
  /** Computes the entries of an {@link attentionHeads} block that were claimed and never finished. */
  attentionFinish(args: number, scratch: number): void;
  layerNormPart(
    x: number,
    w: number,
    b: number,
    y: number,
    mean: number,
    rstd: number,
    rows: number,
    n: number,
    epsLo: number,
    epsHi: number,
  ): void;
  binaryND(op: number, a: number, b: number, y: number, rank: number, meta: number): void;
  copyND(src: number, dst: number, rank: number, meta: number): void;
  /** assembly/select.ts: comparisons into bool bytes (op codes in src/wasm/select-kernels.ts). */
  compareND(op: number, int: number, a: number, b: number, y: number, rank: number, meta: number): void;
  /** assembly/select.ts: `c ? a : b` of 4-byte elements on a bool condition. */
  whereND(c: number, a: number, b: number, y: number, rank: number, meta: number): void;
  /** assembly/select.ts: strided-to-strided copy of `1 << shift`-byte elements. */
  copyStridedND(src: number, dst: number, rank: number, meta: number, shift: number): void;
  adamUpdate(
    p: number,
    g: number,
    m: number,
    v: number,
    vmax: number,
    count: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    bc2: number,
    eps: number,
    negStep: number,
    wd: number,
    decay: number,
    flags: number,
  ): void;
}

const PAGE = 65536;
/** wasm32 addresses reach 4 GiB; an allocation beyond this makes the kernel fall back to JS. */
const MAX_PAGES = 65536;
/** Address 0 means "no bias / no weight" to the kernels, so the heap starts above it. */
const HEAP_BASE = 1024;
/**
 * Bytes the memory always keeps past the last block or scratch region: vector loops may
 * read a few lanes past an operand's end, which must never fall off the memory.
 */
const TAIL = 256;

/**
 * Bump allocation of one kernel call's scratch: operands copied in, temporaries, outputs
 * that are not store buffers. It starts at the heap's end (`rt`'s {@link WasmRuntime.scratchBase});
 * every region is 64-byte aligned (a cache line: packed GEMM panels then never straddle
 * lines). Making one starts a new scratch epoch: the previous call's scratch is dead, so
 * only one layout may be in use at a time. Regions planned after a store buffer was
 * allocated go above it (the heap may have grown over the old end).
 */
export class ScratchLayout {
  /** First free byte. */
  top: number;

  /** @param rt the runtime whose memory the layout is in */
  constructor(private readonly rt: WasmRuntime) {
    this.top = rt.startScratch();
  }

  /** Reserves `count` float32s and returns the region's byte offset. */
  f32(count: number): number {
    const heap = this.rt.heap;
    const p = this.top < heap.end ? heap.end : this.top;
    this.top = p + Math.ceil((count * 4) / 64) * 64;
    if (this.top > heap.guard) heap.guard = this.top;
    return p;
  }
}

/** A WebAssembly runtime for one backend instance. */
export class WasmRuntime {
  /** Which build runs. */
  readonly path: Exclude<CpuPath, 'js'>;
  /** Main-thread exports. */
  readonly exports: KernelExports;
  private readonly memory: WebAssembly.Memory;
  private readonly module: WebAssembly.Module;
  private readonly shared: boolean;
  private pool: WorkerPool | null = null;
  private view = new Float32Array(0);
  /**
   * The allocator of the memory below the scratch: resident tensor storage, kernel outputs
   * and packed weights.
   */
  readonly heap: HeapAllocator;
  /**
   * Whether tensor storage lives in this memory. Only with a shared memory: growing a
   * shared memory leaves every existing view valid, while growing an unshared one detaches
   * them (a JS kernel holding an input view while it allocates its output would then read
   * nothing), so an unshared runtime keeps storage in plain typed arrays and copies.
   */
  readonly resident: boolean;
  /** Every buffer object the memory has had (views made before a growth keep the old one). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  /**
   * Instantiates `build` over a new memory. Shared (threads possible) when the engine can
   * create one, unshared otherwise (threads then stay at 1).
   */
  constructor(build: WasmBuild, threads: number, options: RuntimeOptions = {}) {
    this.path = build.path;
    let memory: WebAssembly.Memory | null = null;
    if (typeof SharedArrayBuffer === 'function' && options.shared !== false) {
      // A shared memory reserves its maximum up front; retry smaller where address space is tight.
      for (const maximum of [MAX_PAGES, 16384]) {
        try {
          memory = new WebAssembly.Memory({ initial: 16, maximum, shared: true });
          break;
        } catch {
          memory = null;
        }
      }
    }
    this.shared = memory !== null;
    if (!memory) {
      if (!build.unshared) throw new Error('cpu backend: no unshared build of the kernel module');
      memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES });
    }
    this.memory = memory;
    this.module = this.shared ? build.shared : (build.unshared as WebAssembly.Module);
    this.exports = new WebAssembly.Instance(this.module, { env: { memory } }).exports as unknown as KernelExports;
    this.resident = this.shared && options.resident !== false;
    if (this.resident) this.buffers.add(memory.buffer);
    this.heap = new HeapAllocator(HEAP_BASE, (end) => this.grow(end), options.cacheLimit);
    this.setThreads(threads);
  }

  /** Threads a parallel kernel uses now, the caller included (1 without shared memory). */
  get threads(): number {
    return this.pool ? this.pool.size : 1;
  }

  /** The worker pool, or null when single-threaded. */
  get workers(): WorkerPool | null {
    return this.pool;
  }

  /** Restarts the pool with `threads` threads in all (workers = threads - 1). */
  setThreads(threads: number): void {
    this.pool?.dispose();
    this.pool = null;
    const n = Math.max(1, Math.floor(threads));
    if (n > 1 && this.shared) {
      const pool = new WorkerPool(this.module, this.memory, n);
      if (pool.size > 1) this.pool = pool;
      else pool.dispose();
    }
  }

  /**
   * Makes the memory at least `bytes` long (the top of a scratch layout) and returns a
   * float32 view of all of it, or null when that is beyond wasm32's reach (the caller then
   * runs the JS kernel). The view must be re-fetched after every reserve: growing replaces
   * the buffer (and detaches the old one when the memory is not shared).
   */
  reserve(bytes: number): Float32Array | null {
    if (!this.grow(bytes)) return null;
    if (bytes > this.heap.guard) this.heap.guard = bytes;
    const buffer = this.memory.buffer;
    if (this.view.buffer !== buffer || this.view.length * 4 !== buffer.byteLength) this.view = new Float32Array(buffer);
    return this.view;
  }

  /** The memory's buffer now (re-read after anything that may grow it). */
  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  /** Whether `buffer` is (a former state of) this memory's buffer: views over it are addresses in the memory. */
  owns(buffer: ArrayBufferLike): boolean {
    return this.buffers.has(buffer);
  }

  /**
   * Where a new scratch layout starts (the heap's end), starting a new scratch epoch: the
   * previous call's scratch is dead from here on ({@link HeapAllocator.settle}).
   */
  startScratch(): number {
    this.heap.settle();
    return this.heap.end;
  }

  /** Where scratch starts now (the heap's end). */
  get scratchBase(): number {
    return this.heap.end;
  }

  /**
   * A region of `bytes` that outlives kernel calls (packed weights), 64-byte aligned, or
   * null when the memory cannot grow that far.
   */
  persist(bytes: number): number | null {
    const p = this.heap.alloc(bytes);
    return p === 0 ? null : p;
  }

  /** Gives back a region from {@link WasmRuntime.persist}. */
  release(ptr: number): void {
    this.heap.free(ptr);
  }

  /** The heap as a store's resident memory, or null when storage is not resident here. */
  residentMemory(): ResidentMemory | null {
    if (!this.resident) return null;
    const heap = this.heap;
    const memory = this.memory;
    return {
      alloc: (bytes) => heap.alloc(bytes),
      free: (ptr) => heap.free(ptr),
      get buffer() {
        return memory.buffer;
      },
    };
  }

  /** Bytes of the memory now (the high-water mark: a wasm memory never shrinks). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Stops the workers. The memory goes with the last reference to this object. */
  dispose(): void {
    this.pool?.dispose();
    this.pool = null;
  }

  /** Grows the memory to at least `end` (+ the tail slack); false beyond wasm32's reach. */
  private grow(end: number): boolean {
    const have = this.memory.buffer.byteLength;
    const want = end + TAIL;
    if (want <= have) return true;
    try {
      this.memory.grow(Math.ceil((want - have) / PAGE));
    } catch {
      return false;
    }
    if (this.resident) this.buffers.add(this.memory.buffer);
    return true;
  }
}
