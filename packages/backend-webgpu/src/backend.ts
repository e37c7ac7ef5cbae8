/** The WebGPU backend object: upload/read conversions, the kernel tables bound to a runtime, statistics. */
import {
  type Backend,
  type BackendMemory,
  type DType,
  type DTypeArrayMap,
  type DataId,
  BackendError,
  KERNEL_CONTRACT_VERSION,
  allocArray,
} from '@ghostflow/core';
import { type GpuSource, findGpu, requestDevice } from './device.js';
import { createFusedKernels } from './fused.js';
import { createPrimitiveKernels } from './kernels.js';
import { type RuntimeStats, Runtime } from './runtime.js';

/** Options for {@link createWebGPUBackend}. */
export interface WebGPUBackendOptions extends GpuSource {
  /** Use this device instead of requesting one (the backend then owns it: `dispose()` destroys it). */
  device?: GPUDevice;
  /** Adapter power preference when requesting one. */
  powerPreference?: GPUPowerPreference;
  /** Name the backend reports (default 'webgpu'); must equal the name it is registered under. */
  name?: string;
}

/** A GhostFlow backend on WebGPU, plus WebGPU-specific introspection. */
export interface WebGPUBackend extends Backend {
  /** The device kernels run on. */
  readonly device: GPUDevice;
  /** The adapter's description (vendor, architecture, device) as reported by the implementation. */
  readonly adapterInfo: string;
  /**
   * The adapter's description when it is a software fallback (SwiftShader, llvmpipe...):
   * `ready()` then prefers the cpu backend unless `ready({ allowFallbackAdapter: true })`.
   */
  readonly fallbackAdapter?: string;
  /** Pipeline cache, buffer pool and submission counters. */
  runtimeStats(): RuntimeStats;
  sync(): Promise<void>;
  dispose(): void;
}

/** Software rasterisers that WebGPU implementations fall back to (Dawn on SwiftShader, Mesa's llvmpipe/lavapipe, WARP). */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

/**
 * The adapter's description when it is a fallback (software) adapter, else undefined:
 * `info.isFallbackAdapter` (current spec), `adapter.isFallbackAdapter` (older
 * implementations), or a known software rasteriser's name in the adapter's info.
 */
export function fallbackAdapterOf(adapter: GPUAdapter | undefined): string | undefined {
  if (!adapter) return undefined;
  const info = (adapter as { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
  const flagged = info?.isFallbackAdapter === true || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const text = describeAdapter(adapter);
  return flagged || SOFTWARE_ADAPTER.test(text) ? text : undefined;
}

function describeAdapter(adapter: GPUAdapter | undefined): string {
  const info = (adapter as { info?: GPUAdapterInfo } | undefined)?.info;
  if (!info) return 'unknown adapter';
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' / ') || 'unknown adapter';
}

/**
 * The kernels of `table`, each telling the runtime its name while it runs, so that an
 * allocation failure names the kernel that asked for the memory.
 */
function labelled<T extends object>(rt: Runtime, table: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(table)) {
    if (typeof fn !== 'function') continue;
    out[name] = (...args: unknown[]) => {
      const outer = rt.op;
      rt.op = name;
      try {
        return fn(...args);
      } finally {
        rt.op = outer;
      }
    };
  }
  return out as T;
}

/**
 * Creates a WebGPU backend: requests an adapter and a device (`navigator.gpu` in browsers,
 * the `webgpu` package in Node) and rejects with a BackendError saying how to get WebGPU when
 * none is available. Kernels are asynchronous: they enqueue GPU work and return at once;
 * `await tensor.data()` reads back. There is no `readSync`.
 */
export async function createWebGPUBackend(options: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  let device = options.device;
  let adapter: GPUAdapter | undefined;
  if (!device) {
    const gpu = await findGpu(options);
    ({ adapter, device } = await requestDevice(gpu, options.powerPreference));
  }
  const rt = new Runtime(device, describeAdapter(adapter));
  const kernels = labelled(rt, createPrimitiveKernels(rt));
  const fused = labelled(rt, createFusedKernels(rt));

  function upload<D extends DType>(values: DTypeArrayMap[D], dtype: D): DataId {
    const n = values.length;
    if (dtype === 'bool') {
      const words = new Uint32Array(n);
      for (let i = 0; i < n; i++) words[i] = values[i] !== 0 ? 1 : 0;
      return rt.upload(words, dtype, n);
    }
    if (dtype === 'float32' || dtype === 'int32') return rt.upload(values as Float32Array | Int32Array, dtype, n);
    throw new BackendError(`webgpu: cannot upload dtype '${dtype as string}'`);
  }

  async function read<D extends DType>(dataId: DataId, dtype: D, size: number): Promise<DTypeArrayMap[D]> {
    const words = await rt.readWords(dataId, size);
    if (dtype === 'float32') return new Float32Array(words) as DTypeArrayMap[D];
    if (dtype === 'int32') return new Int32Array(words) as DTypeArrayMap[D];
    const u = new Uint32Array(words);
    const out = allocArray('bool', size);
    for (let i = 0; i < size; i++) out[i] = u[i] !== 0 ? 1 : 0;
    return out as DTypeArrayMap[D];
  }

  return {
    name: options.name ?? 'webgpu',
    contractVersion: KERNEL_CONTRACT_VERSION,
    kernels,
    fused,
    device,
    adapterInfo: rt.adapterDescription,
    fallbackAdapter: fallbackAdapterOf(adapter),
    upload,
    read,
    disposeData(dataId: DataId): void {
      rt.free(dataId);
    },
    memory(): BackendMemory {
      return rt.memory();
    },
    sync: () => rt.sync(),
    takeIndexFault: () => rt.takeIndexFault(),
    dispose: () => rt.dispose(),
    runtimeStats: () => rt.runtimeStats(),
  };
}
