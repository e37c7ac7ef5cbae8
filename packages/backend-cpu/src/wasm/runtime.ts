/**
 * One backend's WebAssembly state: the memory JavaScript owns (shared when the engine has
 * SharedArrayBuffer, so worker threads can use it), the main-thread instance, and the worker
 * pool. Kernels lay their operands out in the memory per call ({@link ScratchLayout}),
 * copy inputs in, run, and copy outputs out: tensor storage stays in plain typed arrays,
 * so nothing else in the backend changes. The only regions that outlive a call are the
 * persistent ones ({@link WasmRuntime.persist}: packed GEMM weights), below the scratch.
 */
import type { CpuPath, WasmBuild } from './detect.js';
import { WorkerPool } from './pool.js';

/** The kernel module's exports (assembly/kernels.ts). Pointers are byte offsets. */
export interface KernelExports {
  packB(src: number, rs: number, cs: number, k: number, n: number, dst: number): void;
  packA(src: number, rs: number, cs: number, m: number, k: number, dst: number): void;
  gemm(
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
    t0: number,
    t1: number,
  ): void;
  unary(op: number, x: number, y: number, count: number): void;
  binary(op: number, a: number, b: number, y: number, count: number): void;
  sumRows(x: number, y: number, rows: number, n: number): void;
  sumCols(x: number, y: number, acc: number, rows: number, n: number, c0: number, c1: number): void;
  softmaxRows(x: number, y: number, rows: number, n: number, log: number): void;
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
  attentionHeads(
    q: number,
    k: number,
    v: number,
    mask: number,
    mB: number,
    mL: number,
    mS: number,
    out: number,
    w: number,
    L: number,
    S: number,
    E: number,
    Ev: number,
    scaleBits: number,
    causal: number,
    scratch: number,
    b0: number,
    b1: number,
  ): void;
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
/** Address 0 means "no bias / no weight" to the kernels, so scratch starts above it. */
const SCRATCH_BASE = 1024;

/**
 * Bump allocation of one kernel call's operands. Every region is 64-byte aligned (a cache
 * line: packed GEMM panels then never straddle lines).
 */
export class ScratchLayout {
  /**
   * Where every layout starts: above the persistent regions ({@link WasmRuntime.persist}) of
   * every runtime in the process (a shared floor, so that layouts made with `new
   * ScratchLayout()` anywhere never overwrite a packed weight; it only ever rises).
   */
  static floor = SCRATCH_BASE;
  /** First free byte. */
  top = ScratchLayout.floor;

  /** Reserves `count` float32s and returns the region's byte offset. */
  f32(count: number): number {
    const p = this.top;
    this.top = p + Math.ceil((count * 4) / 64) * 64;
    return p;
  }
}

/**
 * The arena top of every runtime that holds persistent regions, by runtime id (numbers, not
 * the runtimes: a backend dropped without `dispose` must stay collectable; its entry then
 * only keeps the floor a little higher than needed).
 */
const arenaTops = new Map<number, number>();
let nextId = 0;

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
  /** Persistent regions (address order) between SCRATCH_BASE and `arenaTop`. */
  private readonly blocks: { ptr: number; bytes: number; free: boolean }[] = [];
  private arenaTop = SCRATCH_BASE;
  private readonly id = nextId++;

  /**
   * Instantiates `build` over a new memory. Shared (threads possible) when the engine can
   * create one, unshared otherwise (threads then stay at 1).
   */
  constructor(build: WasmBuild, threads: number) {
    this.path = build.path;
    let memory: WebAssembly.Memory | null = null;
    if (typeof SharedArrayBuffer === 'function') {
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
   * Makes the memory at least `bytes` long and returns a float32 view of all of it, or
   * null when that is beyond wasm32's reach (the caller then runs the JS kernel). The view
   * must be re-fetched after every reserve: growing replaces the buffer.
   */
  reserve(bytes: number): Float32Array | null {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      const pages = Math.ceil((bytes - have) / PAGE);
      try {
        this.memory.grow(pages);
      } catch {
        return null;
      }
    }
    const buffer = this.memory.buffer;
    if (this.view.buffer !== buffer || this.view.length * 4 !== buffer.byteLength) this.view = new Float32Array(buffer);
    return this.view;
  }

  /** Where a call's scratch layout starts (above every persistent region). */
  get scratchBase(): number {
    return ScratchLayout.floor;
  }

  /** Bytes held by persistent regions (free gaps included). */
  get persistentBytes(): number {
    return this.arenaTop - SCRATCH_BASE;
  }

  /**
   * A region of `bytes` that outlives kernel calls (packed weights), 64-byte aligned, or
   * null when the memory cannot grow that far. Reuses the first free gap that fits, else
   * extends the arena, which moves the scratch floor up. Must not be called while a
   * call's scratch layout is in use (its regions would then overlap the new block).
   */
  persist(bytes: number): number | null {
    const size = Math.ceil(bytes / 64) * 64;
    for (let i = 0; i < this.blocks.length; i++) {
      const b = this.blocks[i];
      if (!b.free || b.bytes < size) continue;
      if (b.bytes > size) this.blocks.splice(i + 1, 0, { ptr: b.ptr + size, bytes: b.bytes - size, free: true });
      b.bytes = size;
      b.free = false;
      return b.ptr;
    }
    const ptr = this.arenaTop;
    if (!this.reserve(ptr + size)) return null;
    this.blocks.push({ ptr, bytes: size, free: false });
    this.setTop(ptr + size);
    return ptr;
  }

  /** Gives back a region from {@link WasmRuntime.persist}; neighbouring free regions merge. */
  release(ptr: number): void {
    const i = this.blocks.findIndex((b) => b.ptr === ptr);
    if (i < 0 || this.blocks[i].free) return;
    this.blocks[i].free = true;
    const next = this.blocks[i + 1];
    if (next?.free) {
      this.blocks[i].bytes += next.bytes;
      this.blocks.splice(i + 1, 1);
    }
    const prev = this.blocks[i - 1];
    if (prev?.free) {
      prev.bytes += this.blocks[i].bytes;
      this.blocks.splice(i, 1);
    }
    // A free block at the end shrinks the arena.
    const last = this.blocks[this.blocks.length - 1];
    if (last?.free) {
      this.blocks.pop();
      this.setTop(last.ptr);
    }
  }

  /** Stops the workers. The memory goes with the last reference to this object. */
  dispose(): void {
    this.pool?.dispose();
    this.pool = null;
  }

  private setTop(top: number): void {
    this.arenaTop = top;
    if (top === SCRATCH_BASE) arenaTops.delete(this.id);
    else arenaTops.set(this.id, top);
    let floor = SCRATCH_BASE;
    for (const t of arenaTops.values()) floor = Math.max(floor, t);
    ScratchLayout.floor = floor;
  }
}
