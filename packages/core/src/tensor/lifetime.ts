/**
 * The safety net behind `dispose()`: a tensor that is garbage-collected without being
 * disposed still releases its backend buffer and its autograd node.
 */
import type { GradNode } from '../autograd/node.js';
import type { Storage } from './storage.js';

/** What must be released when a tensor object dies. */
export interface TensorHeld {
  /** Storage reference the tensor holds. */
  storage: Storage;
  /** Autograd node reference the tensor holds, if any. */
  node: GradNode | null;
}

let leaked = 0;

const registry =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<TensorHeld>((held) => {
        leaked++;
        held.node?.release();
        held.storage.release();
      })
    : undefined;

/** Starts watching a tensor; `token` is what `unwatch` later uses. */
export function watch(tensor: object, held: TensorHeld): void {
  registry?.register(tensor, held, tensor);
}

/** Stops watching (the tensor was disposed explicitly). */
export function unwatch(tensor: object): void {
  registry?.unregister(tensor);
}

/** Number of tensors freed by the garbage collector instead of `dispose()`: leaks caught. */
export function leakedTensorCount(): number {
  return leaked;
}
