/** The CPU backend object: storage, the kernel tables bound to it, and statistics. */
import {
  type Backend,
  BackendError,
  type BackendMemory,
  type DType,
  type DTypeArrayMap,
  type DataId,
  type FusedKernels,
  type PrimitiveKernels,
  KERNEL_CONTRACT_VERSION,
  allocArray,
} from '@ghostflow/core';
import {
  CPU_FUSED_KERNELS,
  CPU_PRIMITIVE_KERNELS,
  type CpuFusedTable,
  type CpuPrimitiveTable,
  bindFusedKernels,
  bindPrimitiveKernels,
} from './kernel-table.js';
import { CpuStore } from './storage.js';
import { type CpuPath, envVar, nodeBuiltin, wasmBuild, wasmRefusal } from './wasm/detect.js';
import { DEFAULT_THRESHOLDS, type WasmThresholds, wasmKernelTables } from './wasm/kernels.js';
import { WasmRuntime } from './wasm/runtime.js';

/** Options for {@link createCpuBackend}. */
export interface CpuBackendOptions {
  /** Replacements for individual primitive kernels (e.g. a WebAssembly matmul); the rest stay JavaScript. */
  kernels?: Partial<CpuPrimitiveTable>;
  /** Replacements for individual fused kernels. */
  fused?: Partial<CpuFusedTable>;
  /**
   * Use the WebAssembly SIMD kernels when the engine validates them (default true).
   * `false`, or the environment variable `GHOSTFLOW_CPU_WASM=0`, forces the JS kernels.
   */
  wasm?: boolean;
  /**
   * Prefer the relaxed-SIMD build (fused multiply-add) where the engine has it (default
   * true; `GHOSTFLOW_CPU_RELAXED_SIMD=0` turns it off). FMA rounds once per multiply-add,
   * so results can differ from the plain build in the last bits.
   */
  relaxedSimd?: boolean;
  /**
   * Threads for the parallel kernels (GEMM), this thread included; default
   * {@link getCpuThreads}. Needs the wasm path and SharedArrayBuffer; 1 otherwise. A value
   * that is not a positive integer is refused (BackendError); one above the machine's core
   * count is lowered to it, with a warning. Workers start when GEMM first needs them.
   */
  threads?: number;
  /** Work sizes below which the JS kernels run even on the wasm path (tests set them to 0). */
  thresholds?: Partial<WasmThresholds>;
  /** The backend's `name` (default `'cpu'`). */
  name?: string;
  /**
   * Keep tensor storage in the WebAssembly memory (default true), so the wasm kernels read
   * and write tensors in place. It needs the wasm path and SharedArrayBuffer; elsewhere, or
   * with `false` (or `GHOSTFLOW_CPU_RESIDENT=0`), buffers are JS typed arrays and each wasm
   * call copies its operands in and its outputs out.
   */
  residentStorage?: boolean;
}

/** Which kernels a CPU backend runs. */
export interface CpuBackendInfo {
  /** 'relaxed-simd' or 'simd' (WebAssembly kernels for the hot paths), or 'js' (reference kernels only). */
  path: CpuPath;
  /** Threads GEMM is split over (the caller included). */
  threads: number;
  /** Worker threads that have started and take work now (`threads - 1` once warm). */
  readyWorkers: number;
  /**
   * Bytes of GEMM weights kept packed in wasm memory across calls (a weight is packed once
   * and reused until it is written in place or freed); 0 on the JS path.
   */
  packedBytes: number;
  /**
   * Why the path or the thread count is below what the machine could do, with the fix (a page
   * that is not cross-origin isolated, a CSP without 'wasm-unsafe-eval' or blocking blob:
   * workers); absent when nothing was lost.
   */
  limitedBy?: string;
}

/** The fix for a page without SharedArrayBuffer, quoted in warnings and `info.limitedBy`. */
export const ISOLATION_FIX =
  "serve the page cross-origin isolated: 'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp' (or 'credentialless') response headers";
/** The fix for a CSP that blocks WebAssembly. */
export const WASM_CSP_FIX = "add 'wasm-unsafe-eval' to the page's Content-Security-Policy script-src";
/** The fix for a CSP that blocks the pool's Blob-URL workers. */
export const WORKER_CSP_FIX = "allow Blob-URL workers in the page's Content-Security-Policy: worker-src 'self' blob:";

/** Whether threads can share memory here: SharedArrayBuffer exists and (in a browser) the page is cross-origin isolated. */
function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer !== 'function') return false;
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

const warned = new Set<string>();
/** Warns once per process and cause. */
function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  console.warn(`ghostflow cpu backend: ${message}`);
}

/** A CPU backend: a {@link Backend} plus what it runs and its thread control. */
export interface CpuBackend extends Backend {
  /** The path and threads in use now. */
  readonly info: CpuBackendInfo;
  /** Changes the thread count (restarts the worker pool; no effect on the JS path). */
  setThreads(threads: number): void;
  /** Resolves when every worker thread has started (they start in the background). */
  whenThreadsReady(): Promise<void>;
  /** Stops the worker threads. The backend keeps working, single-threaded. */
  dispose(): void;
}

let defaultThreads: number | undefined;
/** Live wasm runtimes that follow the default thread count (created without `threads`). */
const followers = new Set<WasmRuntime>();

/**
 * The default thread count: `setCpuThreads`, else `GHOSTFLOW_CPU_THREADS`, else the
 * machine's parallelism (`os.availableParallelism()` in Node, `navigator.hardwareConcurrency`
 * in a browser), else 1. Always 1 where threads cannot run: no SharedArrayBuffer (a page
 * that is not cross-origin isolated) or no WebAssembly kernels (a CSP without
 * 'wasm-unsafe-eval'); `cpuBackendInfo().limitedBy` says which.
 */
export function getCpuThreads(): number {
  if (!sharedMemoryAvailable() || wasmBuild() === null) return 1;
  if (defaultThreads !== undefined) return defaultThreads;
  const raw = envVar('GHOSTFLOW_CPU_THREADS');
  if (raw !== undefined && raw.trim() !== '') return capThreads(checkThreads('GHOSTFLOW_CPU_THREADS', Number(raw), raw));
  return machineThreads();
}

/** The machine's parallelism: `os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in a browser, else 1. */
function machineThreads(): number {
  const os = nodeBuiltin<{ availableParallelism?: () => number; cpus(): unknown[] }>('node:os');
  if (os) return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency ?? 1);
}

/**
 * `threads` when it is a positive integer; otherwise a BackendError naming `what` and the
 * value (`shown`: the text it came from, for an environment variable).
 */
function checkThreads(what: string, threads: number, shown: unknown = threads): number {
  if (!Number.isSafeInteger(threads) || threads < 1) {
    throw new BackendError(
      `${what}: expected a positive integer thread count, got ${typeof shown === 'string' ? `'${shown}'` : String(shown)}`,
    );
  }
  return threads;
}

let warnedCap = false;

/**
 * At most one thread per core: more only adds isolates (about 8 MB each) that compete for
 * the same cores. Warns once when it lowers a request.
 */
function capThreads(threads: number): number {
  const cores = machineThreads();
  if (threads <= cores) return threads;
  if (!warnedCap) {
    warnedCap = true;
    console.warn(`ghostflow cpu backend: ${threads} threads requested, using ${cores} (the machine's core count)`);
  }
  return cores;
}

/**
 * Sets the default thread count, and applies it to every live CPU backend that was created
 * without an explicit `threads` option (the registered `'cpu'` backend among them). A
 * count above the machine's cores is lowered to it (with a warning); workers start lazily.
 */
export function setCpuThreads(threads: number): void {
  defaultThreads = capThreads(checkThreads('setCpuThreads', threads));
  for (const rt of followers) rt.setThreads(defaultThreads);
}

function envFlag(name: string): boolean | undefined {
  const v = envVar(name);
  if (v === undefined || v === '') return undefined;
  return !(v === '0' || v.toLowerCase() === 'false' || v.toLowerCase() === 'off');
}

/** The thread count `options` ask for (checked, capped at the cores), else the default. */
function requestedThreads(options: CpuBackendOptions): number {
  if (options.threads === undefined) return getCpuThreads();
  return capThreads(checkThreads('createCpuBackend', options.threads));
}

/**
 * What a CPU backend made with `options` would run, without making one: the path this
 * engine supports, and the thread count. Pass a backend to get what it runs now.
 */
export function cpuBackendInfo(backendOrOptions: Backend | CpuBackendOptions = {}): CpuBackendInfo {
  if ('info' in backendOrOptions && 'contractVersion' in backendOrOptions) return (backendOrOptions as CpuBackend).info;
  const options = backendOrOptions as CpuBackendOptions;
  const useWasm =
    (options.wasm ?? envFlag('GHOSTFLOW_CPU_WASM') ?? true) &&
    wasmBuild(options.relaxedSimd ?? envFlag('GHOSTFLOW_CPU_RELAXED_SIMD') ?? true);
  if (!useWasm) {
    const refused = options.wasm !== false && wasmRefusal();
    return refused
      ? { path: 'js', threads: 1, readyWorkers: 0, packedBytes: 0, limitedBy: wasmLimit(refused) }
      : { path: 'js', threads: 1, readyWorkers: 0, packedBytes: 0 };
  }
  const threads = sharedMemoryAvailable() ? requestedThreads(options) : 1;
  const limited = !sharedMemoryAvailable() && machineThreads() > 1;
  return limited
    ? { path: useWasm.path, threads, readyWorkers: 0, packedBytes: 0, limitedBy: isolationLimit() }
    : { path: useWasm.path, threads, readyWorkers: 0, packedBytes: 0 };
}

function wasmLimit(reason: string): string {
  return `WebAssembly compilation was refused (${reason}), so the JavaScript kernels run (several times slower): ${WASM_CSP_FIX}`;
}

function isolationLimit(): string {
  return `one thread instead of ${machineThreads()}: SharedArrayBuffer is unavailable (the page is not cross-origin isolated): ${ISOLATION_FIX}`;
}

/**
 * Listens for the browser's report that the page's CSP blocked a Blob-URL worker (the pool's
 * workers then never start, silently): calls `onBlocked` once.
 */
function watchWorkerCsp(onBlocked: () => void): void {
  const g = globalThis as { addEventListener?: (type: string, fn: (e: Event) => void) => void };
  if (typeof g.addEventListener !== 'function' || nodeBuiltin('node:os')) return;
  let fired = false;
  g.addEventListener('securitypolicyviolation', (e) => {
    const v = e as Event & { blockedURI?: string; effectiveDirective?: string };
    if (fired || !/^blob/.test(v.blockedURI ?? '') || !/^(worker-src|script-src|child-src|default-src)/.test(v.effectiveDirective ?? ''))
      return;
    fired = true;
    onBlocked();
  });
}

/**
 * Creates a CPU backend over typed arrays (float32 as Float32Array, int32 as Int32Array,
 * bool as Uint8Array), with `readSync` and every fused kernel of the contract. Where the
 * engine validates WebAssembly SIMD, the hot kernels (GEMM, large elementwise, sums,
 * softmax, cross-entropy picks, layer norm, LSTM/GRU cells) run as wasm, GEMM over a worker pool; everything
 * else, and every case those kernels do not take, runs the reference JavaScript kernels.
 * Each call makes an independent instance with its own statistics and threads.
 */
export function createCpuBackend(options: CpuBackendOptions = {}): CpuBackend {
  const threads = requestedThreads(options);
  const useWasm = options.wasm ?? envFlag('GHOSTFLOW_CPU_WASM') ?? true;
  const build = useWasm ? wasmBuild(options.relaxedSimd ?? envFlag('GHOSTFLOW_CPU_RELAXED_SIMD') ?? true) : null;
  let runtime: WasmRuntime | null = null;
  if (build) {
    try {
      runtime = new WasmRuntime(build, threads, {
        resident: options.residentStorage ?? envFlag('GHOSTFLOW_CPU_RESIDENT') ?? true,
      });
    } catch {
      // No memory or instance here (e.g. a locked-down engine): the JS kernels still work.
      runtime = null;
    }
  }
  if (runtime && options.threads === undefined) followers.add(runtime);
  // Buffers live in the wasm memory when it is shared (its views survive growth).
  const store = new CpuStore(runtime?.residentMemory() ?? null);
  // What the environment cost: said once per process, with the fix, and kept in `info.limitedBy`.
  let limitedBy: string | undefined;
  const refused = useWasm && !build ? wasmRefusal() : undefined;
  if (refused) {
    limitedBy = wasmLimit(refused);
    warnOnce('wasm', limitedBy);
  } else if (runtime && !sharedMemoryAvailable() && (options.threads ?? defaultThreads ?? machineThreads()) > 1) {
    limitedBy = isolationLimit();
    warnOnce('isolation', limitedBy);
  }
  if (runtime && runtime.threads > 1) {
    watchWorkerCsp(() => {
      limitedBy = `worker threads were blocked by the page's Content-Security-Policy, so GEMM runs on one thread: ${WORKER_CSP_FIX}`;
      warnOnce('worker-csp', limitedBy);
      followers.delete(runtime as WasmRuntime);
      runtime?.setThreads(1);
    });
  }
  const wasm = runtime
    ? wasmKernelTables(
        runtime,
        { ...DEFAULT_THRESHOLDS, ...options.thresholds },
        { kernels: CPU_PRIMITIVE_KERNELS, fused: CPU_FUSED_KERNELS },
      )
    : null;
  if (wasm) store.onDispose = wasm.release;
  const k: CpuPrimitiveTable = { ...CPU_PRIMITIVE_KERNELS, ...wasm?.kernels, ...options.kernels };
  const f: CpuFusedTable = { ...CPU_FUSED_KERNELS, ...wasm?.fused, ...options.fused };

  const bound = bindPrimitiveKernels(store, k);
  const kernels: PrimitiveKernels = {
    ...bound,
    write: (target, src) => {
      bound.write(target, src);
      // The buffer changed: caches derived from it (packed GEMM weights) are stale now.
      store.buffer(target.dataId).version++;
    },
  };
  const fused: FusedKernels = bindFusedKernels(store, f);

  function readSync<D extends DType>(dataId: DataId, dtype: D, size: number): DTypeArrayMap[D] {
    const buf = store.buffer(dataId);
    const data = buf.data as DTypeArrayMap[DType];
    if (buf.dtype === dtype) return data.slice(0, size) as DTypeArrayMap[D];
    // Core reads with the dtype it stored; converting anyway keeps a mismatch harmless.
    const out = allocArray(dtype, size);
    for (let i = 0; i < size; i++) out[i] = dtype === 'bool' ? (data[i] !== 0 ? 1 : 0) : data[i];
    return out;
  }

  return {
    name: options.name ?? 'cpu',
    get info(): CpuBackendInfo {
      const info: CpuBackendInfo = {
        path: runtime ? runtime.path : 'js',
        threads: runtime ? runtime.threads : 1,
        readyWorkers: runtime?.workers?.readyWorkers() ?? 0,
        packedBytes: wasm ? wasm.cache.heldBytes : 0,
      };
      if (limitedBy) info.limitedBy = limitedBy;
      return info;
    },
    setThreads(threads: number): void {
      const n = capThreads(checkThreads('setThreads', threads));
      followers.delete(runtime as WasmRuntime);
      runtime?.setThreads(n);
    },
    whenThreadsReady(): Promise<void> {
      const pending = runtime?.workers?.whenReady();
      if (!pending) return Promise.resolve();
      return pending.catch((e: unknown) => {
        throw new BackendError(
          `cpu backend: ${(e as Error).message.replace(/^cpu backend: /, '')} within 10 s. In a browser, check the console: a Content-Security-Policy must allow Blob-URL workers (worker-src 'self' blob:) and WebAssembly ('wasm-unsafe-eval'); in Node, check that worker_threads can start`,
          { cause: e },
        );
      });
    },
    dispose(): void {
      if (runtime) followers.delete(runtime);
      runtime?.dispose();
    },
    contractVersion: KERNEL_CONTRACT_VERSION,
    kernels,
    fused,
    upload<D extends DType>(values: DTypeArrayMap[D], dtype: D): DataId {
      // Copy: core may reuse `values` after this returns.
      const buf = store.allocUninit(dtype, values.length);
      (buf.data as DTypeArrayMap[D]).set(values);
      return buf;
    },
    read<D extends DType>(dataId: DataId, dtype: D, size: number): Promise<DTypeArrayMap[D]> {
      try {
        return Promise.resolve(readSync(dataId, dtype, size));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    readSync,
    disposeData(dataId: DataId): void {
      store.dispose(dataId);
    },
    memory(): BackendMemory {
      return store.memory();
    },
    takeIndexFault: () => store.takeIndexFault(),
  };
}
