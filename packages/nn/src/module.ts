/**
 * The Module base: a tree of named parameters, buffers and submodules with PyTorch's
 * naming (`layer.0.weight`), so a PyTorch `state_dict` maps onto it key for key.
 */
import { GhostFlowError, ShapeError, Tensor, keep, noGrad } from '@ghostflow/core';

/** What `loadStateDict` found missing or extra. */
export interface LoadStateDictResult {
  /** Keys the module has but the dict did not. */
  missingKeys: string[];
  /** Keys the dict has but the module does not. */
  unexpectedKeys: string[];
}

/** A state dict: tensors by dotted name, in registration order. */
export type StateDict = Record<string, Tensor>;

/**
 * Base class of every layer. Subclasses register parameters (`registerParameter`), buffers
 * (`registerBuffer`) and children (`registerModule`) in their constructor and implement
 * `forward`.
 *
 * @example
 * ```ts
 * import { type Tensor, randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Linear, Module } from '@ghostflow/nn';
 *
 * class MLP extends Module {
 *   readonly fc1 = this.registerModule('fc1', new Linear(4, 8));
 *   readonly fc2 = this.registerModule('fc2', new Linear(8, 2));
 *   forward(x: Tensor): Tensor {
 *     return this.fc2.forward(this.fc1.forward(x).relu());
 *   }
 * }
 * const net = new MLP();
 * const y = net.forward(randn([3, 4])); // [3, 2]
 * console.log(net.numParameters(), Object.keys(net.stateDict())); // 58 ['fc1.weight', 'fc1.bias', ...]
 * net.eval(); // dropout off, as PyTorch's eval()
 * ```
 */
export abstract class Module {
  /** Training mode (dropout active, etc.). Change it with `train()` / `eval()`. */
  training = true;
  private readonly params = new Map<string, Tensor | null>();
  private readonly bufs = new Map<string, { tensor: Tensor | null; persistent: boolean }>();
  private readonly children_ = new Map<string, Module | null>();

  /** Runs the layer. */
  abstract forward(...args: never[]): unknown;

  /**
   * Registers a parameter under `name` (null = an optional parameter that is absent, like a
   * disabled bias). The tensor becomes a leaf requiring grad and outlives any `tidy`.
   * Re-registering a name replaces (and disposes) the old tensor.
   */
  registerParameter(name: string, tensor: Tensor): Tensor;
  registerParameter(name: string, tensor: null): null;
  registerParameter(name: string, tensor: Tensor | null): Tensor | null {
    checkName(name);
    const old = this.params.get(name);
    if (old && old !== tensor) old.dispose();
    if (tensor) {
      if (!tensor.isLeaf) throw new GhostFlowError(`parameter '${name}' must be a leaf tensor; detach() it first`);
      keep(tensor);
      tensor.requiresGrad = true;
    }
    this.params.set(name, tensor);
    return tensor;
  }

  /** Registers a buffer (state that is not trained, e.g. running stats); persistent ones go in the state dict. */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): Tensor | null {
    checkName(name);
    const old = this.bufs.get(name)?.tensor;
    if (old && old !== tensor) old.dispose();
    if (tensor) keep(tensor);
    this.bufs.set(name, { tensor, persistent });
    return tensor;
  }

  /** Registers a child module under `name`. */
  registerModule<M extends Module | null>(name: string, module: M): M {
    checkName(name);
    this.children_.set(name, module);
    return module;
  }

  /** The parameter registered as `name` directly on this module. */
  getParameter(name: string): Tensor | null {
    if (!this.params.has(name)) throw new GhostFlowError(`${this.constructor.name} has no parameter '${name}'`);
    return this.params.get(name) ?? null;
  }

  /** Direct children with their names. */
  namedChildren(): [string, Module][] {
    return [...this.children_].filter((e): e is [string, Module] => e[1] !== null);
  }

  /** Direct children. */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and all descendants, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** This module and all descendants. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Parameters with PyTorch's dotted names, this module's first, then each child's. */
  namedParameters(prefix = '', recurse = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, p: string) => {
      for (const [name, t] of m.params) {
        if (t && !seen.has(t)) {
          seen.add(t);
          out.push([p ? `${p}.${name}` : name, t]);
        }
      }
      if (!recurse) return;
      for (const [name, child] of m.namedChildren()) walk(child, p ? `${p}.${name}` : name);
    };
    walk(this, prefix);
    return out;
  }

  /** All parameters (each once, even if shared). */
  parameters(recurse = true): Tensor[] {
    return this.namedParameters('', recurse).map(([, t]) => t);
  }

  /** Buffers with dotted names. */
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, b] of this.bufs) if (b.tensor) out.push([prefix ? `${prefix}.${name}` : name, b.tensor]);
    if (recurse) for (const [name, child] of this.namedChildren()) out.push(...child.namedBuffers(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** All buffers. */
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, t]) => t);
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
      throw new GhostFlowError(
        `loadStateDict: ${missingKeys.length ? `missing keys: ${missingKeys.join(', ')}` : ''}${missingKeys.length && unexpectedKeys.length ? '; ' : ''}${unexpectedKeys.length ? `unexpected keys: ${unexpectedKeys.join(', ')}` : ''}`,
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

function checkName(name: string): void {
  if (!name || name.includes('.')) throw new GhostFlowError(`invalid name '${name}': must be non-empty and contain no '.'`);
}
