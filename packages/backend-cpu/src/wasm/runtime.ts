/**
 * One backend's WebAssembly state: the memory JavaScript owns (shared when the engine has
 * SharedArrayBuffer, so worker threads can use it), the main-thread instance, and the worker
 * pool. Kernels lay their operands out in the memory per call ({@link ScratchLayout}),
 * copy inputs in, run, and copy outputs out: tensor storage stays in plain typed arrays,
 * so nothing else in the backend changes and no wasm pointer can outlive a call.
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
  recurrentForward(
    mode: number,
    gi: number,
    wPack: number,
    bias: number,
    wrPack: number,
    hState: number,
    cState: number,
    y: number,
    ws: number,
    gh: number,
    hraw: number,
    sizes: number,
    steps: number,
    hidden: number,
    out: number,
    reverse: number,
  ): void;
  recurrentBackward(
    mode: number,
    wPackT: number,
    wrPackT: number,
    y: number,
    ws: number,
    dY: number,
    dh: number,
    dc: number,
    dGi: number,
    dGh: number,
    dHs: number,
    g: number,
    dhr: number,
    sizes: number,
    steps: number,
    hidden: number,
    out: number,
    reverse: number,
  ): void;
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
  /** First free byte. */
  top = SCRATCH_BASE;

  /** Reserves `count` float32s and returns the region's byte offset. */
  f32(count: number): number {
    const p = this.top;
    this.top = p + Math.ceil((count * 4) / 64) * 64;
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

  /** Stops the workers. The memory goes with the last reference to this object. */
  dispose(): void {
    this.pool?.dispose();
    this.pool = null;
  }
}
