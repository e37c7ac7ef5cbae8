/**
 * `profile(fn)`: which kernels a piece of code runs, how often, for how long and how many bytes
 * they allocate — the GhostFlow counterpart of `torch.profiler` and `tf.profile`.
 *
 * It works on any backend without the backend's help: while `fn` runs, every primitive and fused
 * kernel function of the profiled backends is replaced by a timing wrapper, and restored after.
 * Allocation is read from the backend's monotonic `bytesAllocatedTotal`, so it counts what each
 * kernel call allocated, whatever the backend's allocator.
 */
import type { Backend } from '../backend/backend.js';
import type { TensorView } from '../backend/kernels.js';
import { getBackend } from '../backend/registry.js';
import { GhostFlowError } from '../errors.js';
import { sharedSlot } from '../global-state.js';
import { type ChromeTrace, toChromeTrace } from './chrome-trace.js';
import { formatKernelTable } from './report.js';

/** One kernel call as recorded by {@link profile}. */
export interface KernelEvent {
  /** Kernel name, e.g. `matmul`, or `fused.lstmCell` for an optional fused kernel. */
  readonly name: string;
  /** The backend it ran on. */
  readonly backend: string;
  /** Start, in milliseconds since the profile began. */
  readonly startMs: number;
  /** Wall time of the call, children included. On asynchronous backends (webgpu) this is the time to enqueue the work, not to run it. */
  readonly durationMs: number;
  /** Bytes the call allocated on its backend (output buffers and any scratch it kept), kernels it called excluded. */
  readonly bytes: number;
  /** Shapes of the tensor inputs, in argument order. */
  readonly inputShapes: readonly (readonly number[])[];
  /** Nesting depth: 0 for kernels core called, 1+ for kernels a backend called from inside another kernel. */
  readonly depth: number;
}

/** Per-kernel totals of a profile. */
export interface KernelStat {
  /** Kernel name (see {@link KernelEvent.name}). */
  readonly name: string;
  /** Number of calls. */
  readonly calls: number;
  /** Total wall time, children included. */
  readonly totalMs: number;
  /** Total wall time minus the time of kernels called from inside it. */
  readonly selfMs: number;
  /** Bytes allocated by its calls (children excluded). */
  readonly bytes: number;
}

/** What {@link profile} returns. */
export interface ProfileReport<T> {
  /** The value `fn` returned (awaited). */
  readonly result: T;
  /** Wall time of the whole profile, including `backend.sync()` on asynchronous backends. */
  readonly totalMs: number;
  /** Time spent inside kernels at depth 0 (the rest is JavaScript outside kernels: op logic, autograd, allocation bookkeeping). */
  readonly kernelMs: number;
  /** Per-kernel totals, largest self time first. */
  readonly kernels: readonly KernelStat[];
  /** Every kernel call in order. */
  readonly events: readonly KernelEvent[];
  /** A text table of {@link kernels} (top `limit` rows, default 20) with shares of the total. */
  table(limit?: number): string;
  /** The events as a Chrome trace (open in https://ui.perfetto.dev or chrome://tracing). */
  chromeTrace(): ChromeTrace;
}

/** Options for {@link profile}. */
export interface ProfileOptions {
  /** Backends to instrument (default: the active backend). */
  backends?: readonly Backend[];
}

type KernelTable = Record<string, unknown>;
interface Patched {
  table: KernelTable;
  key: string;
  own: PropertyDescriptor | undefined;
}

// One profile at a time per process: two would wrap the same functions twice and restore them in the wrong order.
const state = sharedSlot('profiler', () => ({ running: false }));

function isTensorView(v: unknown): v is TensorView {
  return typeof v === 'object' && v !== null && 'dataId' in v && 'shape' in v && 'strides' in v;
}

function shapesOf(args: readonly unknown[]): number[][] {
  const shapes: number[][] = [];
  for (const a of args) {
    if (isTensorView(a)) shapes.push([...a.shape]);
    else if (Array.isArray(a)) for (const v of a) if (isTensorView(v)) shapes.push([...v.shape]);
  }
  return shapes;
}

/**
 * Runs `fn` with every kernel of the profiled backends instrumented and reports per-kernel
 * counts, time and allocated bytes, plus a Chrome trace. Profiling adds a little time per
 * kernel call (two clock reads and two memory queries), so compare shares, not absolute times
 * with an unprofiled run. Only one profile may run at a time.
 *
 * @example
 * ```ts
 * import { profile, randn, tidy } from '@ghostflow/core';
 * const a = randn([256, 256]);
 * const report = await profile(() => tidy(() => a.matmul(a).relu().sum().dataSync()));
 * console.log(report.table());
 * // writeFileSync('trace.json', JSON.stringify(report.chromeTrace()));  // open in Perfetto
 * ```
 */
export async function profile<T>(fn: () => T | Promise<T>, options: ProfileOptions = {}): Promise<ProfileReport<Awaited<T>>> {
  if (state.running) throw new GhostFlowError('profile() is already running: profiles cannot nest or overlap');
  const backends = options.backends ?? [getBackend()];
  const events: KernelEvent[] = [];
  // Per open call: time and bytes of the kernels it called, so each event is counted once.
  const open: { ms: number; bytes: number }[] = [];
  const selfMs = new Map<number, number>(); // event index -> self time
  const patched: Patched[] = [];
  const t0 = performance.now();

  const wrap = (backend: Backend, table: KernelTable, key: string, label: string): void => {
    const original = table[key];
    if (typeof original !== 'function') return;
    patched.push({ table, key, own: Object.getOwnPropertyDescriptor(table, key) });
    const call = original as (...args: unknown[]) => unknown;
    table[key] = function profiled(this: unknown, ...args: unknown[]): unknown {
      const depth = open.length;
      const bytesBefore = backend.memory().bytesAllocatedTotal;
      const start = performance.now();
      open.push({ ms: 0, bytes: 0 });
      try {
        return call.apply(this, args);
      } finally {
        // A failed call still cost its time; its allocation is whatever it left behind.
        const duration = performance.now() - start;
        const allocated = Math.max(0, backend.memory().bytesAllocatedTotal - bytesBefore);
        const children = open.pop() ?? { ms: 0, bytes: 0 };
        const parent = open[open.length - 1];
        if (parent) {
          parent.ms += duration;
          parent.bytes += allocated;
        }
        selfMs.set(events.length, duration - children.ms);
        events.push({
          name: label,
          backend: backend.name,
          startMs: start - t0,
          durationMs: duration,
          bytes: allocated - children.bytes,
          inputShapes: shapesOf(args),
          depth,
        });
      }
    };
  };

  state.running = true;
  try {
    for (const backend of new Set(backends)) {
      const kernels = backend.kernels as unknown as KernelTable;
      for (const key of Object.keys(kernelKeys(kernels))) wrap(backend, kernels, key, key);
      const fused = backend.fused as unknown as KernelTable;
      for (const key of Object.keys(kernelKeys(fused))) wrap(backend, fused, key, `fused.${key}`);
    }
    const result = await fn();
    for (const backend of new Set(backends)) await backend.sync?.();
    const totalMs = performance.now() - t0;
    return makeReport(result, totalMs, events, selfMs);
  } finally {
    // Restore in reverse order so a function wrapped twice (shared tables) ends as it began.
    for (const p of patched.reverse()) {
      if (p.own) Object.defineProperty(p.table, p.key, p.own);
      else delete p.table[p.key];
    }
    state.running = false;
  }
}

/** Every function-valued key of a kernel table, own or inherited (class-based backends keep kernels on the prototype). */
function kernelKeys(table: KernelTable): Record<string, true> {
  const keys: Record<string, true> = {};
  for (let o: object | null = table; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) {
      if (k !== 'constructor' && typeof table[k] === 'function') keys[k] = true;
    }
  }
  return keys;
}

function makeReport<T>(result: T, totalMs: number, events: KernelEvent[], selfMs: Map<number, number>): ProfileReport<T> {
  const byName = new Map<string, { calls: number; totalMs: number; selfMs: number; bytes: number }>();
  let kernelMs = 0;
  for (const [i, e] of events.entries()) {
    if (e.depth === 0) kernelMs += e.durationMs;
    const s = byName.get(e.name) ?? { calls: 0, totalMs: 0, selfMs: 0, bytes: 0 };
    s.calls += 1;
    s.totalMs += e.durationMs;
    s.selfMs += selfMs.get(i) ?? e.durationMs;
    s.bytes += e.bytes;
    byName.set(e.name, s);
  }
  const kernels = [...byName.entries()].map(([name, s]) => ({ name, ...s })).sort((a, b) => b.selfMs - a.selfMs);
  return {
    result,
    totalMs,
    kernelMs,
    kernels,
    events,
    table: (limit = 20) => formatKernelTable(kernels, totalMs, kernelMs, limit),
    chromeTrace: () => toChromeTrace(events),
  };
}
