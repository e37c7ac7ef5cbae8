/**
 * File helpers for Node (fs is imported lazily, so bundles for the browser that never call
 * them do not need it).
 */
import type { Tensor } from '@ghostflow/core';
import { Module } from '../module.js';
import { type LoadSafetensorsOptions, type SaveSafetensorsOptions, loadSafetensors, saveSafetensors } from './safetensors.js';

/**
 * Writes a module's state dict (or a dict of tensors) to `path` as safetensors.
 * @param what a {@link Module} (its `stateDict()` is saved) or tensors by name
 */
export async function save(path: string, what: Module | Record<string, Tensor>, options: SaveSafetensorsOptions = {}): Promise<void> {
  const dict = what instanceof Module ? what.stateDict() : what;
  const bytes = await saveSafetensors(dict, options);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path, bytes);
}

/**
 * Reads a safetensors file into tensors by name; pass the result to
 * `module.loadStateDict(...)` (then dispose it) to restore a module.
 */
export async function load(path: string, options: LoadSafetensorsOptions = {}): Promise<Record<string, Tensor>> {
  const { readFile } = await import('node:fs/promises');
  const buf = await readFile(path);
  return loadSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), options);
}
