/**
 * @ghostflow/backend-cpu: GhostFlow's default backend: WebAssembly SIMD kernels (threaded
 * GEMM) where the engine has them, reference JavaScript kernels everywhere else. Importing this module registers it as `'cpu'`:
 * ```ts
 * import '@ghostflow/backend-cpu';
 * ```
 * @packageDocumentation
 */
import { registerBackend } from '@ghostflow/core';
import { createCpuBackend } from './cpu-backend.js';
import { VERSION } from './version.js';

export { createCpuBackend, cpuBackendInfo, getCpuThreads, setCpuThreads } from './cpu-backend.js';
export type { CpuBackend, CpuBackendInfo, CpuBackendOptions } from './cpu-backend.js';
export type { CpuPath } from './wasm/detect.js';
export type { WasmThresholds } from './wasm/kernels.js';
export { CPU_PRIMITIVE_KERNELS, CPU_FUSED_KERNELS } from './kernel-table.js';
export type { CpuPrimitiveTable, CpuFusedTable, WithStore } from './kernel-table.js';
export { CpuStore, CpuData, type ResidentMemory } from './storage.js';
export { VERSION } from './version.js';

// Priority 1: accelerated backends register higher and win when they start.
registerBackend('cpu', () => createCpuBackend(), { priority: 1, version: VERSION });
