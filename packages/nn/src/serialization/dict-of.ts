/** What the file helpers save: a module's state dict, or tensors by name as given. */
import { Module } from '../module.js';
import type { TensorDict } from './safetensors.js';

/**
 * A module's state dict, or the tensors as given. Duck-typed as well as `instanceof`: the
 * CommonJS build of each subpath (`@ghostflow/nn/node`, `/browser`) carries its own copy of
 * the Module class, so a module made with the main entry's class must be recognised too.
 */
export function dictOf(what: Module | TensorDict): TensorDict {
  if (what instanceof Module) return what.stateDict();
  const maybe = what as { stateDict?: unknown };
  return typeof maybe.stateDict === 'function' ? (maybe as Module).stateDict() : what;
}
