/**
 * @ghostflow/backend-cuda: GhostFlow's CUDA backend, a Node-API addon whose kernels nvcc compiled
 * into a fatbin (SASS for Turing to Blackwell, PTX for newer GPUs). Importing it registers
 * `'cuda'` with the highest priority (3):
 * ```ts
 * import '@ghostflow/backend-cuda';
 * import { ready } from '@ghostflow/core';
 * const choice = await ready(); // cuda on an NVIDIA GPU; else cpu, with the reason in choice.skipped
 * ```
 * The addon loads the driver (`libcuda.so.1`) only when the backend starts, so importing never
 * fails; without a driver or device the registry records why (e.g. "no NVIDIA driver:
 * libcuda.so.1 not found") and the next backend is used.
 * @packageDocumentation
 */
import { registerBackend } from '@ghostflow/core';
import { createCudaBackend } from './backend.js';
import { VERSION } from './version.js';

export { createCudaBackend, CudaData } from './backend.js';
export type { CudaBackend, CudaBackendOptions, CudaMemory } from './backend.js';
export type { NativeInfo } from './native.js';
export { VERSION } from './version.js';

registerBackend('cuda', () => createCudaBackend(), { priority: 3, version: VERSION });

/**
 * Registers `'cuda-host'`: the same kernels and addon code run by a host emulation of CUDA (one
 * fiber per CUDA thread, device memory in host memory). It exists to prove the kernels in CI
 * without a GPU and is orders of magnitude slower than cpu: never use it for real work. It
 * needs the host addon built from source (`pnpm build` in this package), which npm installs lack.
 */
export function registerCudaHostBackend(): void {
  registerBackend('cuda-host', () => createCudaBackend({ addon: 'host' }), { priority: 0, version: VERSION });
}
