/**
 * Process-wide state shared by every copy of `@ghostflow/core` of the same version.
 *
 * A program that mixes `require('@ghostflow/core')` with `import('@ghostflow/backend-cpu')` loads
 * core twice (its CJS and its ESM build). Module-level state would then split in two: the backend
 * registers in one registry and the user's tensors look in the other. So the state that must be
 * one per process (the backend registry, grad mode, the tidy scope stack, the default generator)
 * lives on `globalThis` under a `Symbol.for` key, tagged with core's version. A copy of a
 * different version keeps private state instead (its layout may differ) and remembers the other
 * version, so the errors it raises can name the cause.
 */

declare const __GHOSTFLOW_CORE_VERSION__: string | undefined;

/** This copy's version (the build injects package.json's; sources run under tests say `source`). */
export const CORE_VERSION: string = typeof __GHOSTFLOW_CORE_VERSION__ === 'string' ? __GHOSTFLOW_CORE_VERSION__ : 'source';

const KEY = Symbol.for('@ghostflow/core/state');

interface SharedState {
  version: string;
  slots: Map<string, unknown>;
}

const globalSlot = globalThis as typeof globalThis & { [KEY]?: SharedState };
const existing = globalSlot[KEY];
const state: SharedState =
  existing && existing.version === CORE_VERSION ? existing : { version: CORE_VERSION, slots: new Map<string, unknown>() };
if (!existing) globalSlot[KEY] = state;

/**
 * The version of another `@ghostflow/core` copy loaded first in this process whose state this
 * copy could not share, or `undefined` when this copy shares it (or is alone).
 */
export const foreignCoreVersion: string | undefined = existing && existing !== state ? existing.version : undefined;

/** The process-wide value for `slot`, made by `init` the first time any copy of core asks. */
export function sharedSlot<T>(slot: string, init: () => T): T {
  if (!state.slots.has(slot)) state.slots.set(slot, init());
  return state.slots.get(slot) as T;
}
