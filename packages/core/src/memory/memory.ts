/** Memory statistics across backends. */
import type { BackendMemory } from '../backend/backend.js';
import { findBackend, getBackend } from '../backend/registry.js';
import { leakedTensorCount } from '../tensor/lifetime.js';

/** Memory statistics of one backend, plus the count of leaks the GC safety net caught. */
export interface MemoryInfo extends BackendMemory {
  /** Backend these numbers are for. */
  backend: string;
  /** Tensors freed by garbage collection instead of dispose() (all backends). */
  leakedTensors: number;
}

/** Memory statistics for `backend` (default: the active one). */
export function memory(backend?: string): MemoryInfo {
  const b = backend ? findBackend(backend) : getBackend();
  return { backend: b.name, ...b.memory(), leakedTensors: leakedTensorCount() };
}
