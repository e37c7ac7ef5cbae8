/**
 * Deliberately flawed CPU-based backends for test/kit-runs.test.ts, which runs the
 * conformance kit on each in a child vitest and checks that the kit fails them.
 */
import {
  type Backend,
  type DType,
  type DTypeArrayMap,
  type DataId,
  type FusedKernels,
  type PrimitiveKernels,
  type TypedArray,
  KERNEL_CONTRACT_VERSION,
  allocArray,
} from '@ghostflow/core';
import { createCpuBackend } from '../../src/cpu-backend.js';
import { CPU_FUSED_KERNELS, CPU_PRIMITIVE_KERNELS, bindFusedKernels, bindPrimitiveKernels } from '../../src/kernel-table.js';
import { CpuStore } from '../../src/storage.js';

/** A store whose float32 buffers are Float64Arrays: the kernels compute and keep float64. */
class Float64Store extends CpuStore {
  override alloc(dtype: DType, size: number) {
    if (dtype !== 'float32') return super.alloc(dtype, size);
    return this.adopt(new Float64Array(size) as unknown as TypedArray, dtype);
  }
}

/**
 * The cpu reference kernels over float64 buffers: a float64 backend without `Math.fround`.
 * Reads round to float32 on the way out, as they must (reads return Float32Array).
 */
export function float64CpuBackend(name: string): Backend {
  const store = new Float64Store();
  const kernels: PrimitiveKernels = bindPrimitiveKernels(store, CPU_PRIMITIVE_KERNELS);
  const { linear, softmax, logSoftmax, layerNorm } = bindFusedKernels(store, CPU_FUSED_KERNELS);
  const fused: Partial<FusedKernels> = { linear, softmax, logSoftmax, layerNorm };
  function readSync<D extends DType>(id: DataId, dtype: D, size: number): DTypeArrayMap[D] {
    const out = allocArray(dtype, size);
    out.set(store.data(id).subarray(0, size));
    return out;
  }
  return {
    name,
    contractVersion: KERNEL_CONTRACT_VERSION,
    kernels,
    fused,
    upload: (values, dtype) => {
      const data = dtype === 'float32' ? (Float64Array.from(values) as unknown as TypedArray) : allocArray(dtype, values.length);
      if (dtype !== 'float32') data.set(values);
      return store.adopt(data, dtype);
    },
    read: async (id, dtype, size) => readSync(id, dtype, size),
    readSync,
    disposeData: (id) => store.dispose(id),
    memory: () => store.memory(),
    takeIndexFault: () => store.takeIndexFault(),
  };
}

/**
 * A cpu backend made asynchronous (no readSync; reads settle on a later tick). With
 * `faults: 'reports'` it forwards the kernels' index faults; with `'ignores'` its
 * takeIndexFault always says there is none.
 */
export function asyncCpuBackend(name: string, faults: 'reports' | 'ignores'): Backend {
  const base = createCpuBackend({ wasm: false, name });
  const readSync = base.readSync?.bind(base) as NonNullable<Backend['readSync']>;
  return {
    name,
    contractVersion: base.contractVersion,
    kernels: base.kernels,
    fused: base.fused,
    upload: (v, d) => base.upload(v, d),
    read: (id, d, n) => new Promise((resolve) => setTimeout(() => resolve(readSync(id, d, n)), 0)),
    disposeData: (id) => base.disposeData(id),
    memory: () => base.memory(),
    sync: () => new Promise((resolve) => setTimeout(resolve, 0)),
    takeIndexFault: faults === 'reports' ? () => base.takeIndexFault?.() ?? null : () => null,
  };
}
