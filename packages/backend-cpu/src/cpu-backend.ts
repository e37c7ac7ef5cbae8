/** The CPU backend object: storage, the kernel tables bound to it, and statistics. */
import {
  type Backend,
  type BackendMemory,
  type DType,
  type DTypeArrayMap,
  type DataId,
  type FusedKernels,
  type PrimitiveKernels,
  KERNEL_CONTRACT_VERSION,
  allocArray,
} from '@ghostflow/core';
import { CPU_FUSED_KERNELS, CPU_PRIMITIVE_KERNELS, type CpuFusedTable, type CpuPrimitiveTable } from './kernel-table.js';
import { CpuStore } from './storage.js';

/** Options for {@link createCpuBackend}. */
export interface CpuBackendOptions {
  /** Replacements for individual primitive kernels (e.g. a WebAssembly matmul); the rest stay JavaScript. */
  kernels?: Partial<CpuPrimitiveTable>;
  /** Replacements for individual fused kernels. */
  fused?: Partial<CpuFusedTable>;
}

/**
 * Creates a CPU backend: synchronous JavaScript kernels over typed arrays (float32 as
 * Float32Array, int32 as Int32Array, bool as Uint8Array), with `readSync` and every fused
 * kernel of the contract. Each call makes an independent instance with its own statistics.
 */
export function createCpuBackend(options: CpuBackendOptions = {}): Backend {
  const store = new CpuStore();
  const k: CpuPrimitiveTable = { ...CPU_PRIMITIVE_KERNELS, ...options.kernels };
  const f: CpuFusedTable = { ...CPU_FUSED_KERNELS, ...options.fused };

  const kernels: PrimitiveKernels = {
    unary: (x, attrs) => k.unary(store, x, attrs),
    binary: (a, b, attrs) => k.binary(store, a, b, attrs),
    cast: (x, attrs) => k.cast(store, x, attrs),
    where: (cond, a, b) => k.where(store, cond, a, b),
    reduce: (x, attrs) => k.reduce(store, x, attrs),
    argReduce: (x, attrs) => k.argReduce(store, x, attrs),
    matmul: (a, b) => k.matmul(store, a, b),
    gather: (x, index, attrs) => k.gather(store, x, index, attrs),
    scatter: (base, index, src, attrs) => k.scatter(store, base, index, src, attrs),
    cumsum: (x, attrs) => k.cumsum(store, x, attrs),
    concat: (inputs, attrs) => k.concat(store, inputs, attrs),
    fill: (attrs) => k.fill(store, attrs),
  };

  // Arrow functions, so they work however core binds `this`.
  const fused: FusedKernels = {
    linear: (x, weight, bias) => f.linear(store, x, weight, bias),
    softmax: (x, attrs) => f.softmax(store, x, attrs),
    logSoftmax: (x, attrs) => f.logSoftmax(store, x, attrs),
    layerNorm: (x, weight, bias, attrs) => f.layerNorm(store, x, weight, bias, attrs),
    lstmCell: (gates, c) => f.lstmCell(store, gates, c),
    gruCell: (gi, gh, h) => f.gruCell(store, gi, gh, h),
  };

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
    name: 'cpu',
    contractVersion: KERNEL_CONTRACT_VERSION,
    kernels,
    fused,
    upload<D extends DType>(values: DTypeArrayMap[D], dtype: D): DataId {
      // Copy: core may reuse `values` after this returns.
      const data = allocArray(dtype, values.length);
      data.set(values);
      return store.adopt(data, dtype);
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
  };
}
