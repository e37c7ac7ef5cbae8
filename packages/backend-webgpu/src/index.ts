/**
 * @ghostflow/backend-webgpu: GhostFlow's WebGPU backend. Every primitive kernel in WGSL,
 * plus fused matmul/linear, softmax, layer norm, LSTM/GRU cells and attention. Importing this module
 * registers it as `'webgpu'` (priority 2, above cpu):
 * ```ts
 * import '@ghostflow/backend-webgpu';
 * import { ready } from '@ghostflow/core';
 * await ready(); // picks webgpu when a GPU is available, says why not otherwise
 * ```
 * Registration never touches the GPU: the device is requested the first time the backend
 * is started, and a missing GPU is recorded by the registry as the reason it was skipped.
 * @packageDocumentation
 */
import { registerBackend } from '@ghostflow/core';
import { createWebGPUBackend } from './backend.js';
import { VERSION } from './version.js';

export { createWebGPUBackend } from './backend.js';
export type { WebGPUBackend, WebGPUBackendOptions } from './backend.js';
export { HOW_TO_GET_WEBGPU } from './device.js';
export type { RuntimeStats } from './runtime.js';
export { VERSION } from './version.js';

registerBackend('webgpu', () => createWebGPUBackend(), { priority: 2, version: VERSION });
