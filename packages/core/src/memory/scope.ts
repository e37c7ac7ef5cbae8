/**
 * Tensor lifetime scopes: `tidy` frees every tensor made inside it except what it returns,
 * `keep` exempts a tensor, and `Scope` is an explicit, async-safe alternative that never
 * guesses ownership from timing.
 */
import { GhostFlowError } from '../errors.js';
import { sharedSlot } from '../global-state.js';

/** Anything a scope can dispose. */
export interface ScopedResource {
  /** Frees the resource; safe to call twice. */
  dispose(): void;
  /** Whether it has been freed. */
  readonly isDisposed: boolean;
}

// One tidy stack per process (see global-state.ts): a tensor made by either copy of core joins
// the scope the other copy opened.
const { stack, kept } = sharedSlot('scopes', () => ({ stack: [] as Set<ScopedResource>[], kept: new WeakSet<ScopedResource>() }));

/**
 * The method a resource may have that tidy calls when the resource leaves the last open tidy
 * scope (returned from the outermost one, or `keep`): the tensor then joins the garbage
 * collector's safety net (tensor/lifetime.ts), which a tensor inside a scope does not need,
 * since the scope holds it and disposes it. A registered symbol, so that a tensor of one copy
 * of core (CJS or ESM) is told by the other copy's tidy.
 */
export const leftScopes: unique symbol = Symbol.for('ghostflow.leftScopes') as never;

/** A resource with a {@link leftScopes} method. */
interface LeavesScopes {
  [leftScopes](): void;
}

/** Tells `resource` it is owned by no tidy scope now (when it has a {@link leftScopes} method). */
function leave(resource: ScopedResource): void {
  const r = resource as Partial<LeavesScopes>;
  if (typeof r[leftScopes] === 'function') r[leftScopes]();
}

/**
 * Called by core for every tensor it creates: the innermost open `tidy` scope owns it. True
 * when a scope took it (it will be disposed or handed on by that scope), false when no tidy
 * scope is open.
 */
export function trackInScope(resource: ScopedResource): boolean {
  const top = stack[stack.length - 1];
  if (!top) return false;
  top.add(resource);
  return true;
}

/**
 * Removes a resource from every open tidy scope, so it outlives them. Returns it.
 *
 * @example
 * ```ts
 * import { keep, randn, tidy } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * let running: ReturnType<typeof randn> | undefined;
 * tidy(() => {
 *   const x = randn([3]);
 *   running = keep(x.square()); // outlives the tidy even though it is not returned
 * });
 * console.log(running?.shape); // [3]
 * ```
 */
export function keep<T extends ScopedResource>(resource: T): T {
  kept.add(resource);
  for (const s of stack) s.delete(resource);
  leave(resource);
  return resource;
}

/** Whether `keep` was called on the resource. */
export function isKept(resource: ScopedResource): boolean {
  return kept.has(resource);
}

/**
 * The method by which an object that is not an array or a plain object (a class instance such
 * as nn's `PackedSequence`) declares the tensors it holds, so `tidy` keeps them when the
 * object is returned. It returns the held resources (or arrays/objects of them).
 */
export const heldTensors: unique symbol = Symbol.for('ghostflow.heldTensors') as never;

/** An object that declares the tensors it holds (see {@link heldTensors}). */
export interface HoldsTensors {
  /** The resources this object holds, as an iterable (values may be nested arrays/objects). */
  [heldTensors](): Iterable<unknown>;
}

function declaresTensors(value: object): value is HoldsTensors {
  return typeof (value as Partial<HoldsTensors>)[heldTensors] === 'function';
}

function collect(value: unknown, into: Set<ScopedResource>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  // Checked before the resource test: a container may itself be disposable (PackedSequence).
  if (declaresTensors(value)) {
    for (const v of value[heldTensors]()) collect(v, into, seen);
    return;
  }
  if (typeof (value as ScopedResource).dispose === 'function' && 'isDisposed' in (value as object)) {
    into.add(value as ScopedResource);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, into, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, seen);
  else if (value instanceof Set) for (const v of value) collect(v, into, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)
    for (const v of Object.values(value)) collect(v, into, seen);
}

/**
 * Runs `fn` and disposes every tensor created inside it, except those in its result, which
 * move to the enclosing scope. The result is searched through arrays (tuples of states),
 * plain objects (`{ output, hN }`), maps, sets, and objects that declare their tensors with
 * a {@link heldTensors} method (`PackedSequence`); other class instances are not searched.
 * `fn` must be synchronous: an async function would let tensors from unrelated work leak
 * into this scope, so that throws; use `using` or a {@link Scope} across awaits.
 *
 * @example
 * ```ts
 * import { randn, tidy } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * const w = randn([4, 4]);
 * const total = tidy(() => {
 *   const h = w.matmul(w).relu(); // intermediate: freed when tidy returns
 *   return h.sum(); // returned tensors survive the scope
 * });
 * console.log(total.itemSync());
 * total.dispose();
 * ```
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<ScopedResource>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const r of scope) r.dispose();
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) {
    for (const r of scope) r.dispose();
    throw new GhostFlowError(
      'tidy() got an async function; tidy scopes must be synchronous. Across awaits, use `using t = ...` or an explicit `new Scope()`',
    );
  }
  // A result that is not an object (a number, undefined) holds no tensor: no search needed.
  const survivors = new Set<ScopedResource>();
  if (result !== null && typeof result === 'object') collect(result, survivors, new Set());
  const parent = stack[stack.length - 1];
  for (const r of scope) {
    if (!survivors.has(r)) r.dispose();
    else if (parent) parent.add(r);
    else leave(r);
  }
  return result;
}

/**
 * An explicit ownership scope, safe across `await`: add tensors with `track`, free them all
 * with `dispose()` (or `using scope = new Scope()`).
 *
 * @example
 * ```ts
 * import { Scope, randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * async function meanOfRandom(): Promise<number> {
 *   using scope = new Scope(); // every tensor made in this block is freed when it ends
 *   const x = randn([2, 3]);
 *   return await x.mean().item(); // awaiting is fine here, unlike inside tidy()
 * }
 * console.log(await meanOfRandom());
 * ```
 */
export class Scope {
  private readonly owned = new Set<ScopedResource>();

  /** Makes this scope own `resource` (and no tidy scope). Returns it. */
  track<T extends ScopedResource>(resource: T): T {
    keep(resource);
    this.owned.add(resource);
    return resource;
  }

  /** Stops owning `resource` (the caller owns it now). Returns it. */
  release<T extends ScopedResource>(resource: T): T {
    this.owned.delete(resource);
    return resource;
  }

  /** Disposes everything the scope still owns. */
  dispose(): void {
    for (const r of this.owned) r.dispose();
    this.owned.clear();
  }

  /** `using` support. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
