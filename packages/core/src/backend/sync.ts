/** `sync()`: wait for a backend's queued work and surface what it recorded meanwhile. */
import { throwIndexFault } from './index-faults.js';
import { getBackend, loadBackend } from './registry.js';

/**
 * Resolves when every kernel enqueued on the backend so far has finished (at once on
 * synchronous backends). Rejects with the `IndexError` of an out-of-range index a kernel
 * met since the last read or sync (asynchronous backends report those here, or at the next
 * `data()`/`array()`/`item()`), or with an error the backend recorded.
 * @param device the backend's registered name (default: the active backend)
 */
export async function sync(device?: string): Promise<void> {
  const backend = device === undefined ? getBackend() : await loadBackend(device);
  await backend.sync?.();
  throwIndexFault(backend);
}
