/**
 * The backend registry: which backends exist, which one is active, and why the others
 * were not chosen. Registration is explicit and idempotent per (name, version), so two
 * copies of a backend package in one bundle register once and print nothing.
 */
import { BackendError } from '../errors.js';
import { type Backend, type BackendFactory, KERNEL_CONTRACT_VERSION } from './backend.js';
import { PRIMITIVE_KERNELS } from './kernels.js';
import { CORE_VERSION, foreignCoreVersion, sharedSlot } from '../global-state.js';

/** Options for {@link registerBackend}. */
export interface RegisterBackendOptions {
  /** Higher wins when no backend was chosen with `setBackend`. Default 1. */
  priority?: number;
  /** Version of the package registering (for the duplicate-copy handshake). */
  version?: string;
  /** Contract version the backend implements; must equal core's. Default: core's. */
  contractVersion?: number;
}

/** What {@link registerBackend} did. */
export interface RegistrationResult {
  /** The name registered. */
  name: string;
  /** `registered`, `duplicate` (same name and version already there: nothing changed) or `replaced`. */
  status: 'registered' | 'duplicate' | 'replaced';
}

/** Options for {@link ready}. */
export interface ReadyOptions {
  /**
   * Accept a backend running on a software fallback adapter (`backend.fallbackAdapter`, e.g.
   * WebGPU on SwiftShader or llvmpipe) when no better backend starts first. Default false:
   * such a backend is skipped (with the reason in `skipped`) in favour of the next one,
   * typically cpu (wasm), which is faster than a software GPU.
   */
  allowFallbackAdapter?: boolean;
}

/** Outcome of choosing a backend: which won and why others did not. */
export interface BackendSelection {
  /** The active backend's name. */
  backend: string;
  /** Higher-priority backends that were skipped, with the reason. */
  skipped: { name: string; reason: string }[];
}

interface Entry {
  name: string;
  factory: BackendFactory;
  priority: number;
  version: string | undefined;
  instance: Backend | undefined;
  pending: Promise<Backend> | undefined;
  failure: string | undefined;
}

// One registry per process, whether core was loaded through require, import or both.
const registry = sharedSlot('registry', () => ({
  entries: new Map<string, Entry>(),
  active: undefined as Backend | undefined,
  lastSelection: undefined as BackendSelection | undefined,
  // True while the active backend was picked by a synchronous call (getBackend: creating a
  // tensor before `await ready()`), not by setBackend/ready: ready() may still replace it.
  implicit: false,
}));
const entries = registry.entries;

/**
 * Registers a backend factory under `name`. Backend packages call this when imported.
 * Registering the same name and version again is a silent no-op; a different version
 * replaces the old one (if it was not yet instantiated).
 */
export function registerBackend(name: string, factory: BackendFactory, options: RegisterBackendOptions = {}): RegistrationResult {
  const contract = options.contractVersion ?? KERNEL_CONTRACT_VERSION;
  if (contract !== KERNEL_CONTRACT_VERSION) {
    throw new BackendError(
      `backend '${name}' implements kernel contract v${contract}, but this @ghostflow/core speaks v${KERNEL_CONTRACT_VERSION}; install matching versions`,
    );
  }
  const existing = entries.get(name);
  if (existing && existing.version === options.version) return { name, status: 'duplicate' };
  if (existing?.instance) {
    throw new BackendError(
      `backend '${name}' v${existing.version ?? '?'} is already in use; cannot replace it with v${options.version ?? '?'}. Two different copies are installed: deduplicate your dependencies`,
    );
  }
  entries.set(name, {
    name,
    factory,
    priority: options.priority ?? 1,
    version: options.version,
    instance: undefined,
    pending: undefined,
    failure: undefined,
  });
  return { name, status: existing ? 'replaced' : 'registered' };
}

/** Removes a registered backend, disposing its instance. Mainly for tests. */
export function removeBackend(name: string): void {
  const entry = entries.get(name);
  if (!entry) return;
  if (entry.instance && registry.active === entry.instance) registry.active = undefined;
  entry.instance?.dispose?.();
  entries.delete(name);
}

/** Names of registered backends, highest priority first. */
export function listBackends(): string[] {
  return sortedEntries().map((e) => e.name);
}

function sortedEntries(): Entry[] {
  return [...entries.values()].sort((a, b) => b.priority - a.priority);
}

function validate(backend: Backend, name: string): Backend {
  // Tensors report `backend.name` as their device; a factory registered under another name
  // would make `t.device` name a backend that `to()`/`setBackend()` cannot find.
  if (backend.name !== name) {
    throw new BackendError(`the factory registered as '${name}' made a backend named '${backend.name}'; the names must match`);
  }
  const missing = PRIMITIVE_KERNELS.filter((k) => typeof backend.kernels?.[k] !== 'function');
  if (missing.length > 0) {
    throw new BackendError(`backend '${name}' lacks primitive kernels: ${missing.join(', ')}`);
  }
  return backend;
}

function instantiateSync(entry: Entry): Backend {
  if (entry.instance) return entry.instance;
  if (entry.failure) throw new BackendError(`backend '${entry.name}' failed to initialise: ${entry.failure}`);
  let made: Backend | Promise<Backend>;
  try {
    made = entry.factory();
  } catch (e) {
    entry.failure = (e as Error).message;
    throw new BackendError(`backend '${entry.name}' failed to initialise: ${entry.failure}`);
  }
  if (made instanceof Promise) {
    entry.pending = made;
    throw new BackendError(
      `backend '${entry.name}' initialises asynchronously: call 'await setBackend("${entry.name}")' or 'await ready()' first`,
    );
  }
  entry.instance = validate(made, entry.name);
  return entry.instance;
}

async function instantiate(entry: Entry): Promise<Backend> {
  if (entry.instance) return entry.instance;
  if (entry.failure) throw new BackendError(`backend '${entry.name}' failed to initialise: ${entry.failure}`);
  try {
    entry.pending ??= Promise.resolve(entry.factory());
    entry.instance = validate(await entry.pending, entry.name);
    return entry.instance;
  } catch (e) {
    entry.failure = (e as Error).message;
    entry.pending = undefined;
    throw new BackendError(`backend '${entry.name}' failed to initialise: ${entry.failure}`);
  }
}

/**
 * Makes `name` the active backend, initialising it if needed. Rejects with the reason when
 * it is not registered or fails to start.
 */
export async function setBackend(name: string): Promise<Backend> {
  const entry = entries.get(name);
  if (!entry) throw new BackendError(`no backend named '${name}' is registered (registered: ${listBackends().join(', ') || 'none'})`);
  registry.active = await instantiate(entry);
  registry.implicit = false;
  registry.lastSelection = { backend: name, skipped: [] };
  return registry.active;
}

function fallbackReason(backend: Backend): string {
  return `runs on a software fallback adapter (${backend.fallbackAdapter}), usually slower than the cpu backend; pass ready({ allowFallbackAdapter: true }) or call setBackend('${backend.name}') to use it anyway`;
}

/**
 * Chooses the best backend: the highest-priority one that starts, skipping one on a
 * software fallback adapter (`backend.fallbackAdapter`) unless `allowFallbackAdapter`.
 * Resolves with the choice and the reasons others were skipped.
 *
 * When it switches: after `setBackend` or a previous `ready()`, the choice stands and is
 * returned as it is (call `setBackend` to change it). A backend picked implicitly by a
 * synchronous call before `await ready()` (creating a tensor, `getBackend()`) is replaced
 * by ready()'s choice as long as it holds no live buffer (`memory().buffers === 0`: every
 * tensor made on it was disposed); otherwise ready() rejects with a BackendError naming both
 * backends and the fix, rather than leave those tensors on a backend that is no longer active.
 * @example
 * ```ts
 * import { ready } from '@ghostflow/core';
 * import '@ghostflow/backend-webgpu';
 * import '@ghostflow/backend-cpu';
 * const { backend, skipped } = await ready();   // 'webgpu' on a real GPU, else 'cpu'
 * await ready({ allowFallbackAdapter: true });   // also accept WebGPU on SwiftShader/llvmpipe
 * ```
 */
export async function ready(options: ReadyOptions = {}): Promise<BackendSelection> {
  if (registry.active && registry.lastSelection && !registry.implicit) return registry.lastSelection;
  const implicit = registry.implicit ? registry.active : undefined;
  const skipped: { name: string; reason: string }[] = [];
  for (const entry of sortedEntries()) {
    let backend: Backend;
    try {
      backend = await instantiate(entry);
    } catch (e) {
      skipped.push({ name: entry.name, reason: (e as Error).message });
      continue;
    }
    if (backend.fallbackAdapter !== undefined && !options.allowFallbackAdapter) {
      skipped.push({ name: entry.name, reason: fallbackReason(backend) });
      continue;
    }
    if (implicit && backend !== implicit) {
      const live = implicit.memory().buffers;
      if (live > 0) {
        throw new BackendError(
          `ready(): expected no tensor before choosing a backend, got ${live} live buffer(s) on '${implicit.name}', which a synchronous call (creating a tensor, getBackend()) picked before ready(); ready() would now choose '${entry.name}'. Await ready() before creating tensors, or call setBackend('${implicit.name}') to keep '${implicit.name}' (or setBackend('${entry.name}') and move the tensors with .to('${entry.name}'))`,
        );
      }
    }
    registry.active = backend;
    registry.implicit = false;
    registry.lastSelection = { backend: entry.name, skipped };
    return registry.lastSelection;
  }
  throw new BackendError(noBackendMessage(skipped));
}

function noBackendMessage(skipped: { name: string; reason: string }[]): string {
  if (entries.size === 0 && foreignCoreVersion !== undefined) {
    return `no backend is registered with this copy of @ghostflow/core (v${CORE_VERSION}): another copy, v${foreignCoreVersion}, is loaded in this process and backends imported through it register there. Install one version of @ghostflow/core (deduplicate your dependencies)`;
  }
  if (entries.size === 0) return "no backend is registered: import one, e.g. `import '@ghostflow/backend-cpu'`";
  return `no registered backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`;
}

/**
 * The active backend. Without a prior `setBackend`/`ready`, picks the highest-priority
 * backend that starts synchronously (not one on a fallback adapter); a later `await ready()`
 * may still replace that pick while it holds no tensor (see {@link ready}).
 */
export function getBackend(): Backend {
  if (registry.active) return registry.active;
  const skipped: { name: string; reason: string }[] = [];
  for (const entry of sortedEntries()) {
    try {
      const backend = instantiateSync(entry);
      if (backend.fallbackAdapter !== undefined) {
        skipped.push({ name: entry.name, reason: fallbackReason(backend) });
        continue;
      }
      registry.active = backend;
      registry.implicit = true;
      registry.lastSelection = { backend: entry.name, skipped };
      return registry.active;
    } catch (e) {
      skipped.push({ name: entry.name, reason: (e as Error).message });
    }
  }
  throw new BackendError(noBackendMessage(skipped));
}

/** The backend registered as `name`, started synchronously if needed. */
export function findBackend(name: string): Backend {
  const entry = entries.get(name);
  if (!entry) throw new BackendError(`no backend named '${name}' is registered (registered: ${listBackends().join(', ') || 'none'})`);
  return instantiateSync(entry);
}

/** Starts (if needed) and returns the backend registered as `name`; works for async factories. */
export async function loadBackend(name: string): Promise<Backend> {
  const entry = entries.get(name);
  if (!entry) throw new BackendError(`no backend named '${name}' is registered (registered: ${listBackends().join(', ') || 'none'})`);
  return instantiate(entry);
}

/** The name of the active backend, choosing one if needed. */
export function getBackendName(): string {
  return getBackend().name;
}
