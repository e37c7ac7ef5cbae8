/**
 * Checkpoint files for Node: `saveCheckpoint` / `loadCheckpoint` write and read the bytes of
 * checkpoint.ts (fs is imported lazily, as in node.ts, so browser bundles never need it).
 */
import { GhostFlowError } from '@ghostflow/core';
import { type CheckpointParts, type CheckpointTargets, type RestoredCheckpoint, decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';

function checkPath(path: unknown, what: string): string | URL {
  if (typeof path === 'string' || path instanceof URL) return path;
  throw new GhostFlowError(`${what}: expected a file path (string or URL), got ${path === null ? 'null' : typeof path}`);
}

/**
 * Saves model + optimizer + scheduler + RNG state + step (and `extra`) to one safetensors file.
 *
 * @example
 * ```ts
 * import { Adam, Linear, StepLR } from '@ghostflow/nn';
 * import { loadCheckpoint, saveCheckpoint } from '@ghostflow/nn/node';
 * const model = new Linear(4, 1);
 * const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
 * const scheduler = new StepLR(optimizer, 10);
 * await saveCheckpoint('run/ckpt.safetensors', { model, optimizer, scheduler, step: 100 });
 * // later, in a fresh process with freshly built objects:
 * const { step } = await loadCheckpoint('run/ckpt.safetensors', { model, optimizer, scheduler });
 * ```
 */
export async function saveCheckpoint(path: string | URL, parts: CheckpointParts): Promise<void> {
  const p = checkPath(path, 'saveCheckpoint');
  const bytes = await encodeCheckpoint(parts);
  const { writeFile } = await import('node:fs/promises');
  try {
    await writeFile(p, bytes);
  } catch (e) {
    throw new GhostFlowError(`saveCheckpoint: cannot write '${String(p)}': ${(e as Error).message}`, { cause: e });
  }
}

/** Restores a checkpoint file from {@link saveCheckpoint} into `targets`; returns the saved step and extras. */
export async function loadCheckpoint(path: string | URL, targets: CheckpointTargets = {}): Promise<RestoredCheckpoint> {
  const p = checkPath(path, 'loadCheckpoint');
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(p);
  } catch (e) {
    throw new GhostFlowError(`loadCheckpoint: cannot read '${String(p)}': ${(e as Error).message}`, { cause: e });
  }
  return decodeCheckpoint(bytes, targets);
}
