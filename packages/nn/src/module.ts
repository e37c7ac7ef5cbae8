/**
 * The Module base: a tree of named parameters, buffers and submodules with PyTorch's
 * naming (`layer.0.weight`), so a PyTorch `state_dict` maps onto it key for key.
 */
import { GhostFlowError, ShapeError, Tensor, keep, noGrad } from '@ghostflow/core';
import { type Parameter, isParameter, markParameter } from './parameter.js';

/** What `loadStateDict` found missing or extra. */
export interface LoadStateDictResult {
  /** Keys the module has but the dict did not. */
  missingKeys: string[];
  /** Keys the dict has but the module does not. */
  unexpectedKeys: string[];
}

/** A state dict: tensors by dotted name, in registration order. */
export type StateDict = Record<string, Tensor>;

/** What `registerForwardHook` and friends return: `remove()` unregisters the hook. */
export interface RemovableHandle {
  /** Unregisters the hook (a second call does nothing). */
  remove(): void;
}

/**
 * A forward pre-hook: runs before `forward` with the module and its arguments. Return
 * nothing to keep the arguments, an array to replace them, or another value to replace them
 * by that single argument (as PyTorch wraps a non-tuple).
 */
export type ForwardPreHook = (module: Module, args: unknown[]) => unknown;

/** A forward hook: runs after `forward` with the module, its arguments and output; a returned value replaces the output. */
export type ForwardHook = (module: Module, args: unknown[], output: unknown) => unknown;

/**
 * How many registry slots (over every module) hold each parameter or buffer: a tensor that
 * leaves its last slot (replaced, deleted) is disposed; one still held elsewhere (tied
 * weights) is not.
 */
const slotCounts = new WeakMap<Tensor, number>();

function hold(t: Tensor | null): void {
  if (t) slotCounts.set(t, (slotCounts.get(t) ?? 0) + 1);
}

/** Drops one slot's hold on `t`; the last one disposes it when `dispose` (replacement, not `delete`). */
function release(t: Tensor | null | undefined, dispose = true): void {
  if (!t) return;
  const n = (slotCounts.get(t) ?? 1) - 1;
  if (n > 0) {
    slotCounts.set(t, n);
    return;
  }
  slotCounts.delete(t);
  if (dispose) t.dispose();
}

/** PyTorch's `torch.typename` for the messages of refused assignments. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Tensor) return isParameter(value) ? 'Parameter' : 'Tensor';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'Object';
  return typeof value;
}

/**
 * Base class of every layer. As in PyTorch, assigning a submodule or a {@link Parameter} to
 * a field registers it under the field's name, in assignment order (a constructor body's
 * `this.fc = new Linear(2, 3)` and a class field `fc = new Linear(2, 3)` alike); assigning
 * to a field registered as a buffer replaces the buffer. `registerParameter`,
 * `registerBuffer` and `registerModule` register explicitly (buffers only that way), and a
 * field assigned what this module already registered under another name is an alias of that
 * name (`this.selfAttn = this.registerModule('self_attn', ...)`: PyTorch's key, a camelCase
 * field), so assigning the field later replaces the registered entry.
 *
 * The registration is done by a Proxy that the constructor returns (the object you get from
 * `new` is that Proxy); reads are not intercepted.
 *
 * @example
 * ```ts
 * import type { Tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Embedding, Linear, Module } from '@ghostflow/nn';
 * class Net extends Module {
 *   encoder = new Embedding(100, 16);
 *   decoder = new Linear(16, 100);
 *   constructor() {
 *     super();
 *     this.decoder.weight = this.encoder.weight; // tied: one tensor, two state-dict keys
 *   }
 *   forward(x: Tensor) { return this.decoder.forward(this.encoder.forward(x)); }
 * }
 * const net = new Net();
 * net.parameters().length;       // 2 (the tied weight once, the decoder bias)
 * Object.keys(net.stateDict());  // ['encoder.weight', 'decoder.weight', 'decoder.bias']
 * ```
 */
export abstract class Module {
  /** Training mode (dropout active, etc.). Change it with `train()` / `eval()`. */
  training = true;
  private readonly params = new Map<string, Tensor | null>();
  private readonly bufs = new Map<string, { tensor: Tensor | null; persistent: boolean }>();
  private readonly children_ = new Map<string, Module | null>();
  /** Field name → the registered name it aliases. */
  private readonly aliases = new Map<string, string>();
  private readonly forwardPreHooks = new Map<number, ForwardPreHook>();
  private readonly forwardHooks = new Map<number, ForwardHook>();
  /** The object behind the Proxy: writes to it are not intercepted. */
  private readonly raw: Module;

  /** Runs the layer. */
  abstract forward(...args: never[]): unknown;

  constructor() {
    this.raw = this;
    // biome-ignore lint/correctness/noConstructorReturn: the Proxy is what registers assigned fields (see the class doc)
    return new Proxy(this, Module.traps as ProxyHandler<this>);
  }

  /**
   * Every data write to a module (assignment, class field definition) arrives here: an
   * ordinary `proxy.x = v` reaches `defineProperty` on the receiver, so one trap sees both.
   */
  private static readonly traps: ProxyHandler<Module> = {
    defineProperty(target, key, desc) {
      if (typeof key !== 'string' || !('value' in desc)) return Reflect.defineProperty(target, key, desc);
      return target.setAttr(key, desc);
    },
    deleteProperty(target, key) {
      if (typeof key === 'string') target.removeAttr(key);
      return Reflect.deleteProperty(target, key);
    },
  };

  /** PyTorch's `__setattr__`, on the raw object. */
  private setAttr(name: string, desc: PropertyDescriptor): boolean {
    const value: unknown = desc.value;
    const aliased = this.aliases.get(name);
    if (aliased !== undefined) {
      this.assignRegistered(aliased, value);
      return Reflect.defineProperty(this.raw, name, desc);
    }
    if (!this.isRegistered(name) && this.registeredNameOf(value) !== null) {
      this.aliases.set(name, this.registeredNameOf(value) as string);
      return Reflect.defineProperty(this.raw, name, desc);
    }
    this.assignRegistered(name, value, false);
    return Reflect.defineProperty(this.raw, name, desc);
  }

  /**
   * `delete module.x`: drops a registered entry (PyTorch's `__delattr__`). The tensor is not
   * disposed: `pop` hands it to the caller.
   */
  private removeAttr(name: string): void {
    if (this.aliases.delete(name)) return;
    if (this.params.has(name)) release(this.params.get(name), false);
    if (this.bufs.has(name)) release(this.bufs.get(name)?.tensor, false);
    this.params.delete(name);
    this.bufs.delete(name);
    this.children_.delete(name);
    for (const [alias, target] of this.aliases) if (target === name) this.aliases.delete(alias);
  }

  private isRegistered(name: string): boolean {
    return this.params.has(name) || this.bufs.has(name) || this.children_.has(name);
  }

  /** The name this module registered `value` under, if it did (a parameter, buffer or child). */
  private registeredNameOf(value: unknown): string | null {
    if (value instanceof Tensor) {
      for (const [n, t] of this.params) if (t === value) return n;
      for (const [n, b] of this.bufs) if (b.tensor === value) return n;
    } else if (value instanceof Module) {
      for (const [n, m] of this.children_) if (m === value) return n;
    }
    return null;
  }

  /**
   * PyTorch's assignment rules for `name`: a Parameter registers (leaving buffers and
   * children), a Module becomes a child, a registered parameter/child/buffer accepts only its
   * kind or null. Returns false when `name` is a plain attribute (nothing registered).
   */
  private assignRegistered(name: string, value: unknown, mirror = true): boolean {
    const what = (kind: string, expected: string) =>
      new GhostFlowError(`cannot assign '${typeName(value)}' as ${kind} '${name}' (${expected} or null expected)`);
    if (isParameter(value)) {
      this.dropFrom(name, 'param');
      this.setParam(name, value);
    } else if (this.params.has(name)) {
      if (value !== null) throw what('parameter', 'Parameter');
      this.setParam(name, null);
    } else if (value instanceof Module) {
      this.dropFrom(name, 'child');
      this.children_.set(name, value);
    } else if (this.children_.has(name)) {
      if (value !== null) throw what('child module', 'Module');
      this.children_.set(name, null);
    } else if (this.bufs.has(name)) {
      if (value !== null && !(value instanceof Tensor)) throw what('buffer', 'Tensor');
      this.setBuf(name, value, this.bufs.get(name)?.persistent ?? true);
    } else return false;
    this.mirror(name, value, mirror);
    return true;
  }

  /** Keeps the plain properties (the registered name itself and its aliases) equal to the registry. */
  private mirror(name: string, value: unknown, self: boolean): void {
    const set = (key: string) => {
      const d = Reflect.getOwnPropertyDescriptor(this.raw, key);
      if (d && !('value' in d)) return;
      if (!d && key in this.raw) return;
      Reflect.defineProperty(this.raw, key, d ? { value } : { value, writable: true, enumerable: true, configurable: true });
    };
    if (self) set(name);
    for (const [alias, target] of this.aliases) if (target === name) set(alias);
  }

  private dropFrom(name: string, keep: 'param' | 'buf' | 'child'): void {
    if (keep !== 'param' && this.params.has(name)) {
      release(this.params.get(name));
      this.params.delete(name);
    }
    if (keep !== 'buf' && this.bufs.has(name)) {
      release(this.bufs.get(name)?.tensor);
      this.bufs.delete(name);
    }
    if (keep !== 'child') this.children_.delete(name);
  }

  private setParam(name: string, tensor: Tensor | null): void {
    const old = this.params.get(name);
    if (old === tensor) return;
    if (tensor) {
      markParameter(tensor, isParameter(tensor) ? undefined : true);
      hold(tensor);
    }
    this.params.set(name, tensor);
    release(old);
  }

  private setBuf(name: string, tensor: Tensor | null, persistent: boolean): void {
    const old = this.bufs.get(name)?.tensor;
    if (old !== tensor) {
      if (tensor) {
        keep(tensor);
        hold(tensor);
      }
      release(old);
    }
    this.bufs.set(name, { tensor, persistent });
  }

  /**
   * Validates `name` and frees it in the other registries (a name is a parameter, a buffer or
   * a child, never two). Unlike PyTorch no "attribute already exists" error: names taken by a
   * getter or method (RNN cells' `weight_ih` getters, hostile state-dict keys such as
   * 'constructor') register fine and are just not mirrored as properties.
   */
  private checkFree(name: string, kind: 'params' | 'bufs' | 'children_'): void {
    checkName(name);
    if (!this[kind].has(name)) this.dropFrom(name, kind === 'params' ? 'param' : kind === 'bufs' ? 'buf' : 'child');
  }

  /**
   * Registers a parameter under `name` (null = an optional parameter that is absent, like a
   * disabled bias) and makes it readable as `this[name]`. The tensor is marked a
   * {@link Parameter}: a leaf requiring grad (a tensor that already is a parameter keeps its
   * `requiresGrad`, so a frozen one stays frozen) that outlives any `tidy`. Re-registering a
   * name replaces the old tensor, disposing it unless another module still holds it.
   */
  registerParameter(name: string, tensor: Tensor): Parameter;
  registerParameter(name: string, tensor: null): null;
  registerParameter(name: string, tensor: Tensor | null): Parameter | null;
  registerParameter(name: string, tensor: Tensor | null): Parameter | null {
    this.checkFree(name, 'params');
    if (tensor !== null && !(tensor instanceof Tensor)) {
      throw new GhostFlowError(`cannot assign '${typeName(tensor)}' as parameter '${name}' (Tensor or null expected)`);
    }
    this.setParam(name, tensor);
    this.mirror(name, tensor, true);
    return tensor as Parameter | null;
  }

  /**
   * Registers a buffer (state that is not trained, e.g. running stats) and makes it readable
   * as `this[name]`; persistent ones go in the state dict. Assigning a tensor to the field
   * later replaces the buffer (keeping its persistence).
   */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): Tensor | null {
    this.checkFree(name, 'bufs');
    if (tensor !== null && !(tensor instanceof Tensor)) {
      throw new GhostFlowError(`cannot assign '${typeName(tensor)}' as buffer '${name}' (Tensor or null expected)`);
    }
    this.setBuf(name, tensor, persistent);
    this.mirror(name, tensor, true);
    return tensor;
  }

  /** Registers a child module under `name` and makes it readable as `this[name]`. */
  registerModule<M extends Module | null>(name: string, module: M): M {
    this.checkFree(name, 'children_');
    if (module !== null && !(module instanceof Module)) {
      throw new GhostFlowError(`cannot assign '${typeName(module)}' as child module '${name}' (Module or null expected)`);
    }
    this.children_.set(name, module);
    this.mirror(name, module, true);
    return module;
  }

  /** The parameter registered as `name` directly on this module. */
  getParameter(name: string): Tensor | null {
    if (!this.params.has(name)) throw new GhostFlowError(`${this.constructor.name} has no parameter '${name}'`);
    return this.params.get(name) ?? null;
  }

  /** Direct children with their names (a module registered under two names appears once, as in PyTorch). */
  namedChildren(): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    for (const [name, m] of this.children_) {
      if (m && !seen.has(m)) {
        seen.add(m);
        out.push([name, m]);
      }
    }
    return out;
  }

  /** Registered children in order, a module registered twice under each name (what containers index). */
  protected ownChildren(): [string, Module][] {
    return [...this.children_].filter((e): e is [string, Module] => e[1] !== null);
  }

  /**
   * The descendant at dotted path `target` ('' = this module), like `get_submodule`.
   *
   * @example
   * ```ts
   * import '@ghostflow/backend-cpu';
   * import { TransformerEncoder, TransformerEncoderLayer } from '@ghostflow/nn';
   * const model = new TransformerEncoder(new TransformerEncoderLayer(32, 4), 2);
   * model.getSubmodule('layers.0.self_attn'); // the first layer's MultiheadAttention
   * ```
   */
  getSubmodule(target: string): Module {
    let m: Module = this;
    if (target === '') return m;
    for (const part of target.split('.')) {
      const next = m.children_.get(part);
      if (!next) throw new GhostFlowError(`${m.constructor.name} has no submodule '${part}' (looking up '${target}')`);
      m = next;
    }
    return m;
  }

  /** Direct children. */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /**
   * This module and all descendants, with dotted names ('' for this one), depth first in
   * registration order. With `removeDuplicate` (default, as PyTorch) a module reachable
   * twice is listed once, under its first name.
   */
  namedModules(prefix = '', removeDuplicate = true): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, p: string) => {
      if (removeDuplicate) {
        if (seen.has(m)) return;
        seen.add(m);
      }
      out.push([p, m]);
      for (const [name, child] of m.children_) if (child) walk(child, p ? `${p}.${name}` : name);
    };
    walk(this, prefix);
    return out;
  }

  /** This module and all descendants (each once). */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** PyTorch's `_named_members`: `pick` over this module (or every module), each tensor once unless `removeDuplicate` is false. */
  private namedMembers(pick: (m: Module) => Iterable<[string, Tensor | null]>, prefix: string, recurse: boolean, removeDuplicate: boolean) {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules(prefix, removeDuplicate) : [[prefix, this]];
    for (const [p, m] of mods) {
      for (const [name, t] of pick(m)) {
        if (!t || (removeDuplicate && seen.has(t))) continue;
        seen.add(t);
        out.push([p ? `${p}.${name}` : name, t]);
      }
    }
    return out;
  }

  /**
   * Parameters with PyTorch's dotted names, this module's first, then each child's. With
   * `removeDuplicate` (default) a tied parameter is listed once, under its first name.
   */
  namedParameters(prefix = '', recurse = true, removeDuplicate = true): [string, Parameter][] {
    return this.namedMembers((m) => m.params, prefix, recurse, removeDuplicate) as [string, Parameter][];
  }

  /**
   * All parameters, each once even if shared. An empty list from a module that registered
   * nothing carries a note the optimizers quote in their error.
   */
  parameters(recurse = true): Parameter[] {
    const out = this.namedParameters('', recurse).map(([, t]) => t);
    if (out.length === 0) Object.defineProperty(out, EMPTY_NOTE, { value: this.emptyNote() });
    return out;
  }

  /** Why a module has no parameters, and how registration works. */
  private emptyNote(): string {
    return `${this.constructor.name}.parameters() is empty: the module registered no parameters. Assign submodules or Parameters to fields (this.fc = new Linear(...), this.w = new Parameter(t)) or call registerModule/registerParameter; modules kept in a plain array or object are not registered (use ModuleList / ModuleDict)`;
  }

  /** Buffers with dotted names (each once unless `removeDuplicate` is false). */
  namedBuffers(prefix = '', recurse = true, removeDuplicate = true): [string, Tensor][] {
    return this.namedMembers(
      (m) => [...m.bufs].map(([n, b]) => [n, b.tensor] as [string, Tensor | null]),
      prefix,
      recurse,
      removeDuplicate,
    );
  }

  /** All buffers. */
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, t]) => t);
  }

  /**
   * Sets `requiresGrad` on every parameter (`requiresGrad_(false)` freezes the module: its
   * parameters get no gradient and optimizers skip them). Returns this.
   *
   * @example
   * ```ts
   * import type { Tensor } from '@ghostflow/core';
   * import '@ghostflow/backend-cpu';
   * import { Linear, Module } from '@ghostflow/nn';
   * class Net extends Module {
   *   encoder = new Linear(10, 4);
   *   head = new Linear(4, 2);
   *   forward(x: Tensor) { return this.head.forward(this.encoder.forward(x)); }
   * }
   * const model = new Net();
   * model.encoder.requiresGrad_(false); // fine-tune only the rest
   * ```
   */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad = requiresGrad;
    return this;
  }

  /**
   * Runs `hook(module, args)` before every `forward` call (torch's
   * `register_forward_pre_hook`); it may replace the arguments (see {@link ForwardPreHook}).
   *
   * @example
   * ```ts
   * import type { Tensor } from '@ghostflow/core';
   * import '@ghostflow/backend-cpu';
   * import { Linear } from '@ghostflow/nn';
   * const layer = new Linear(10, 2);
   * const h = layer.registerForwardPreHook((_m, [x]) => [(x as Tensor).mul(2)]);
   * h.remove();
   * ```
   */
  registerForwardPreHook(hook: ForwardPreHook): RemovableHandle {
    return this.addHook(this.forwardPreHooks, hook);
  }

  /**
   * Runs `hook(module, args, output)` after every `forward` call (torch's
   * `register_forward_hook`); a returned value replaces the output.
   *
   * @example
   * ```ts
   * import { keep, randn, type Tensor } from '@ghostflow/core';
   * import '@ghostflow/backend-cpu';
   * import { Linear, Module } from '@ghostflow/nn';
   * class Net extends Module {
   *   fc = new Linear(10, 2);
   *   forward(x: Tensor) { return this.fc.forward(x); }
   * }
   * const model = new Net();
   * const x = randn([4, 10]);
   * const acts: Tensor[] = [];
   * const h = model.fc.registerForwardHook((_m, _args, out) => { acts.push(keep((out as Tensor).detach())); });
   * model.forward(x);
   * h.remove();
   * ```
   */
  registerForwardHook(hook: ForwardHook): RemovableHandle {
    return this.addHook(this.forwardHooks, hook);
  }

  private addHook<H>(hooks: Map<number, H>, hook: H): RemovableHandle {
    if (typeof hook !== 'function') throw new GhostFlowError(`a hook must be a function, got ${typeName(hook)}`);
    const id = nextHookId++;
    hooks.set(id, hook);
    this.syncForwardWrapper();
    return {
      remove: () => {
        if (hooks.delete(id)) this.syncForwardWrapper();
      },
    };
  }

  /**
   * Hooks run through an own `forward` that wraps the class's; it exists only while hooks do,
   * so modules without hooks call their forward directly, with no overhead.
   */
  private syncForwardWrapper(): void {
    const raw = this.raw;
    const wanted = raw.forwardPreHooks.size > 0 || raw.forwardHooks.size > 0;
    const has = Object.hasOwn(raw, 'forward');
    if (wanted && !has) {
      const wrapper = function (this: Module, ...args: unknown[]): unknown {
        return raw.callWithHooks(this, args);
      };
      Reflect.defineProperty(raw, 'forward', { value: wrapper, writable: true, configurable: true, enumerable: false });
    } else if (!wanted && has) {
      Reflect.deleteProperty(raw, 'forward');
    }
  }

  private callWithHooks(self: Module, args: unknown[]): unknown {
    let input = args;
    for (const hook of [...this.forwardPreHooks.values()]) {
      const r = hook(self, input);
      if (r !== undefined) input = Array.isArray(r) ? r : [r];
    }
    const forward = Reflect.get(Object.getPrototypeOf(this.raw) as object, 'forward', self) as (...a: unknown[]) => unknown;
    let output = forward.apply(self, input);
    for (const hook of [...this.forwardHooks.values()]) {
      const r = hook(self, input, output);
      if (r !== undefined) output = r;
    }
    return output;
  }

  /**
   * Parameters and persistent buffers by PyTorch name, in PyTorch's order (a module's own
   * parameters, then its buffers, then each child's). The tensors are the live ones, not copies.
   */
  stateDict(prefix = ''): StateDict {
    // Null prototype: a tensor named '__proto__' is an own key, not the object's prototype.
    const out = Object.create(null) as StateDict;
    for (const [name, t] of this.params) if (t) out[prefix + name] = t;
    for (const [name, b] of this.bufs) if (b.tensor && b.persistent) out[prefix + name] = b.tensor;
    for (const [name, child] of this.namedChildren()) Object.assign(out, child.stateDict(`${prefix}${name}.`));
    return out;
  }

  /**
   * Copies values from `dict` into this module's parameters and buffers (in place: references
   * held by optimizers stay valid). Shapes must match; with `strict` (default) missing or
   * unexpected keys throw, listing them.
   */
  loadStateDict(dict: Record<string, Tensor>, options: { strict?: boolean } = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    if (dict === null || typeof dict !== 'object') {
      throw new GhostFlowError(`loadStateDict: expected an object mapping names to tensors, got ${dict === null ? 'null' : typeof dict}`);
    }
    const own = this.stateDict();
    // Own keys only: 'constructor' or 'toString' must not be found on Object.prototype.
    const missingKeys = Object.keys(own).filter((k) => !Object.hasOwn(dict, k));
    const unexpectedKeys = Object.keys(dict).filter((k) => !Object.hasOwn(own, k));
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const empty =
        Object.keys(own).length === 0
          ? ` (${this.emptyNote().replace('.parameters() is empty: the module registered no parameters', ' has no parameters or buffers')})`
          : '';
      throw new GhostFlowError(
        `loadStateDict: ${missingKeys.length ? `missing keys: ${missingKeys.join(', ')}` : ''}${missingKeys.length && unexpectedKeys.length ? '; ' : ''}${unexpectedKeys.length ? `unexpected keys: ${unexpectedKeys.join(', ')}` : ''}${empty}`,
      );
    }
    // Check every entry before writing any, so a bad dict leaves the module as it was.
    const writes: [Tensor, Tensor][] = [];
    for (const [key, target] of Object.entries(own)) {
      if (!Object.hasOwn(dict, key)) continue;
      const src: unknown = dict[key];
      if (!(src instanceof Tensor)) {
        throw new GhostFlowError(
          `loadStateDict: '${key}' must be a Tensor, got ${src === null ? 'null' : Array.isArray(src) ? 'an array' : typeof src}`,
        );
      }
      src.assertAlive();
      if (src.shape.length !== target.shape.length || src.shape.some((d, i) => d !== target.shape[i])) {
        throw new ShapeError(
          `loadStateDict: '${key}' has shape [${src.shape.join(', ')}] in the dict but [${target.shape.join(', ')}] in the module`,
        );
      }
      if (src.device !== target.device) {
        throw new GhostFlowError(
          `loadStateDict: '${key}' is on backend '${src.device}' but the module is on '${target.device}'; move it with to() first`,
        );
      }
      writes.push([target, src]);
    }
    // In place, as PyTorch's `param.copy_(input_param)`: parameters keep their identity, and
    // views of them (tied weights, cached slices) see the loaded values.
    noGrad(() => {
      for (const [target, src] of writes) target.copy_(src);
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Sets training mode on this module and every descendant. Returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Sets evaluation mode (`train(false)`). Returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's `.grad`. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Calls `fn` on every module, children first (like `nn.Module.apply`). Returns this. */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Moves every parameter and buffer of this module and its descendants to the backend
   * `device` (like `nn.Module.to`). As in PyTorch, each tensor object stays the same (its data
   * is swapped for a copy on `device` with `assign()`, and its `.grad` moves with it), so
   * optimizers and anything else holding the parameters keep working, and a tensor shared by
   * several modules stays shared. Views taken before the move keep viewing the old data.
   * Returns this.
   */
  async to(device: string): Promise<this> {
    const seen = new Set<Tensor>();
    for (const m of this.modules()) {
      const tensors = [
        ...[...m.params.values()].filter((t): t is Tensor => t !== null),
        ...[...m.bufs.values()].flatMap((b) => (b.tensor ? [b.tensor] : [])),
      ];
      for (const t of tensors) {
        if (seen.has(t)) continue;
        seen.add(t);
        if (t.device === device) continue;
        const copy = await t.detach().to(device);
        t.assign(copy);
        copy.dispose();
        const grad = t.grad;
        if (grad) t.grad = keep(await grad.to(device));
      }
    }
    return this;
  }

  /** Total number of parameter elements (trainable ones only when `trainableOnly`). */
  numParameters(trainableOnly = false): number {
    return this.parameters()
      .filter((p) => !trainableOnly || p.requiresGrad)
      .reduce((n, p) => n + p.size, 0);
  }

  /** Extra text shown after the class name in `toString()` (e.g. `in=3, out=4`). */
  extraRepr(): string {
    return '';
  }

  /** A readable tree of the module with parameter counts, like PyTorch's print(model). */
  toString(): string {
    const lines = [`${this.constructor.name}(${this.extraRepr()})`];
    const own = this.namedChildren();
    if (own.length === 0) return `${lines[0]}  [${this.numParameters().toLocaleString('en-US')} params]`;
    lines[0] = `${this.constructor.name}(${this.extraRepr()}${this.extraRepr() ? ', ' : ''}params=${this.numParameters().toLocaleString('en-US')})`;
    lines[0] = lines[0].replace(/\)$/, ') (');
    for (const [name, child] of own) lines.push(`  (${name}): ${child.toString().split('\n').join('\n  ')}`);
    lines.push(')');
    return lines.join('\n');
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const t of m.params.values()) t?.dispose();
      for (const b of m.bufs.values()) b.tensor?.dispose();
    }
  }
}

let nextHookId = 0;

/** @internal the property of an empty `parameters()` list that says why it is empty. */
export const EMPTY_NOTE: unique symbol = Symbol('ghostflow.emptyParameters');

function checkName(name: string): void {
  if (!name || name.includes('.')) throw new GhostFlowError(`invalid name '${name}': must be non-empty and contain no '.'`);
}
