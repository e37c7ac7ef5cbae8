/**
 * Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict (PyTorch's
 * names: children '0', '1', ... or their keys).
 */
import { GhostFlowError, Tensor, tidy } from '@ghostflow/core';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';

/** A layer that maps one value to one value, as Sequential chains them. */
export interface UnaryModule<I = unknown, O = unknown> extends Module {
  /** Runs the layer. */
  forward(input: I): O;
}

/**
 * Refuses a child that is not a Module (`new Sequential(5)`), as PyTorch does ("int is not a
 * Module subclass"), instead of failing later with a TypeError in forward or parameters().
 */
function checkChild(container: string, index: number, value: unknown): void {
  if (value instanceof Module) return;
  const got =
    value === null
      ? 'null'
      : typeof value === 'object'
        ? `an object (${value.constructor?.name ?? 'no prototype'})`
        : `${typeof value} ${String(value)}`;
  throw new GhostFlowError(`${container}: child ${index} must be a Module, got ${got}`);
}

/** Runs its children in order, each on the previous one's output. */
export class Sequential extends Module {
  private readonly layers: UnaryModule[];

  /** @param layers children, registered as '0', '1', ... */
  constructor(...layers: UnaryModule[]) {
    super();
    layers.forEach((m, i) => checkChild('Sequential', i, m));
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }

  /** Feeds `input` through every layer. */
  forward(input: unknown): unknown {
    // The outputs between layers are this call's temporaries: tidy frees them.
    return tidy(() => {
      let x = input;
      for (const layer of this.layers) x = layer.forward(x as never);
      return x;
    });
  }

  /** Number of layers. */
  get length(): number {
    return this.layers.length;
  }

  /** The layer at `index`. */
  at(index: number): UnaryModule {
    const m = this.layers[index < 0 ? index + this.layers.length : index];
    if (!m) throw new GhostFlowError(`Sequential has ${this.layers.length} layers, no index ${index}`);
    return m;
  }
}

/** A list of modules registered as '0', '1', ... (no forward of its own). */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  /** @param modules initial items */
  constructor(modules: readonly M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Adds a module at the end. Returns this. */
  append(module: M): this {
    checkChild('ModuleList', this.items.length, module);
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return this;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): M {
    const m = this.items[index < 0 ? index + this.items.length : index];
    if (!m) throw new GhostFlowError(`ModuleList has ${this.items.length} modules, no index ${index}`);
    return m;
  }

  /** Number of modules. */
  get length(): number {
    return this.items.length;
  }

  /** Iterates the modules in order. */
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  /** ModuleList has no forward; iterate it instead. */
  forward(): never {
    throw new GhostFlowError('ModuleList has no forward(); iterate over it and call each module');
  }
}

/** Refuses a non-tensor entry of a parameter container, naming what came. */
function checkTensor(container: string, index: number, value: unknown): void {
  if (value instanceof Tensor) return;
  const got =
    value === null ? 'null' : typeof value === 'object' ? `an object (${value.constructor?.name ?? 'no prototype'})` : typeof value;
  throw new GhostFlowError(`${container}: entry ${index} must be a Tensor, got ${got}`);
}

/** Container keys become attribute and state-dict names, so they follow registration's rules. */
function checkKey(container: string, key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new GhostFlowError(`${container}: keys must be strings, got ${typeof key}`);
}

/**
 * Modules by name (torch.nn.ModuleDict): registered under their keys, in insertion order,
 * so `dict.encoder.weight` is a state-dict key. Keys that name a method (`keys`, `get`, ...)
 * are refused, as PyTorch refuses them.
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Linear, ModuleDict } from '@ghostflow/nn';
 * const x = randn([2, 8]);
 * const heads = new ModuleDict({ cls: new Linear(8, 3), reg: new Linear(8, 1) });
 * heads.get('cls').forward(x);
 * Object.keys(heads.stateDict()); // ['cls.weight', 'cls.bias', 'reg.weight', 'reg.bias']
 * ```
 */
export class ModuleDict<M extends Module = Module> extends Module {
  /** @param modules initial entries (an object or `[key, module]` pairs) */
  constructor(modules: Record<string, M> | Iterable<readonly [string, M]> = {}) {
    super();
    this.update(modules);
  }

  /** The module under `key` (throws if absent, like PyTorch's KeyError). */
  get(key: string): M {
    const m = this.ownChildren().find(([k]) => k === key);
    if (!m) throw new GhostFlowError(`ModuleDict has no key '${key}' (keys: ${this.keys().join(', ')})`);
    return m[1] as M;
  }

  /** Adds or replaces the module under `key`. Returns this. */
  set(key: string, module: M): this {
    checkKey('ModuleDict', key);
    checkChild('ModuleDict', this.keys().length, module);
    this.registerModule(key, module);
    return this;
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return this.keys().includes(key);
  }

  /** Removes `key` and returns its module. */
  pop(key: string): M {
    const m = this.get(key);
    Reflect.deleteProperty(this, key);
    return m;
  }

  /** Removes every entry. */
  clear(): void {
    for (const k of this.keys()) Reflect.deleteProperty(this, k);
  }

  /** Adds every entry of `modules` (an object or `[key, module]` pairs). Returns this. */
  update(modules: Record<string, M> | Iterable<readonly [string, M]>): this {
    const entries = Symbol.iterator in Object(modules) ? [...(modules as Iterable<readonly [string, M]>)] : Object.entries(modules);
    for (const [k, m] of entries) this.set(k, m);
    return this;
  }

  /** Keys in insertion order. */
  keys(): string[] {
    return this.ownChildren().map(([k]) => k);
  }

  /** Modules in insertion order. */
  values(): M[] {
    return this.ownChildren().map(([, m]) => m as M);
  }

  /** `[key, module]` pairs in insertion order. */
  items(): [string, M][] {
    return this.ownChildren() as [string, M][];
  }

  /** Number of entries. */
  get length(): number {
    return this.keys().length;
  }

  /** Iterates the keys, as PyTorch's `for k in module_dict`. */
  [Symbol.iterator](): Iterator<string> {
    return this.keys()[Symbol.iterator]();
  }

  /** ModuleDict has no forward; pick a module and call it. */
  forward(): never {
    throw new GhostFlowError('ModuleDict has no forward(); get a module by key and call it');
  }
}

/**
 * Parameters in a list (torch.nn.ParameterList), registered as '0', '1', ...; tensors that
 * are not yet parameters are made parameters (requiring grad), as PyTorch does.
 *
 * @example
 * ```ts
 * import { ones } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { ParameterList } from '@ghostflow/nn';
 * const scales = new ParameterList([ones([4]), ones([4])]);
 * scales.at(1); // a Parameter, state-dict key '1'
 * ```
 */
export class ParameterList extends Module {
  /** @param params initial items */
  constructor(params: Iterable<Tensor> = []) {
    super();
    this.extend(params);
  }

  /** Adds a parameter at the end. Returns this. */
  append(param: Tensor): this {
    checkTensor('ParameterList', this.length, param);
    this.registerParameter(String(this.length), param);
    return this;
  }

  /** Appends every tensor of `params`. Returns this. */
  extend(params: Iterable<Tensor>): this {
    for (const p of params) this.append(p);
    return this;
  }

  /** The parameter at `index` (negative counts from the end). */
  at(index: number): Parameter {
    const n = this.length;
    const i = index < 0 ? index + n : index;
    if (!(i >= 0 && i < n)) throw new GhostFlowError(`ParameterList has ${n} parameters, no index ${index}`);
    return this.getParameter(String(i)) as Parameter;
  }

  /** Replaces the parameter at `index`. */
  set(index: number, param: Tensor): this {
    this.at(index);
    const i = index < 0 ? index + this.length : index;
    this.registerParameter(String(i), param);
    return this;
  }

  /** Number of parameters. */
  get length(): number {
    return this.namedParameters('', false, false).length;
  }

  /** Iterates the parameters in order. */
  [Symbol.iterator](): Iterator<Parameter> {
    return this.namedParameters('', false, false)
      .map(([, p]) => p)
      [Symbol.iterator]();
  }

  /** ParameterList has no forward. */
  forward(): never {
    throw new GhostFlowError('ParameterList has no forward(); iterate over it');
  }
}

/**
 * Parameters by name (torch.nn.ParameterDict), registered under their keys in insertion
 * order; tensors that are not yet parameters are made parameters.
 *
 * @example
 * ```ts
 * import { ones, randn, zeros } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { ParameterDict } from '@ghostflow/nn';
 * const x = randn([2, 4]);
 * const p = new ParameterDict({ scale: ones([4]), shift: zeros([4]) });
 * x.mul(p.get('scale')).add(p.get('shift'));
 * ```
 */
export class ParameterDict extends Module {
  /** @param params initial entries (an object or `[key, tensor]` pairs) */
  constructor(params: Record<string, Tensor> | Iterable<readonly [string, Tensor]> = {}) {
    super();
    this.update(params);
  }

  /** The parameter under `key` (throws if absent). */
  get(key: string): Parameter {
    if (!this.has(key)) throw new GhostFlowError(`ParameterDict has no key '${key}' (keys: ${this.keys().join(', ')})`);
    return this.getParameter(key) as Parameter;
  }

  /** Adds or replaces the parameter under `key`. Returns this. */
  set(key: string, param: Tensor): this {
    checkKey('ParameterDict', key);
    checkTensor('ParameterDict', this.length, param);
    this.registerParameter(key, param);
    return this;
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return this.keys().includes(key);
  }

  /** Removes `key` and returns its parameter (not disposed: it is handed to you). */
  pop(key: string): Parameter {
    const p = this.get(key);
    Reflect.deleteProperty(this, key);
    return p;
  }

  /** Adds every entry of `params`. Returns this. */
  update(params: Record<string, Tensor> | Iterable<readonly [string, Tensor]>): this {
    const entries = Symbol.iterator in Object(params) ? [...(params as Iterable<readonly [string, Tensor]>)] : Object.entries(params);
    for (const [k, p] of entries) this.set(k, p);
    return this;
  }

  /** Keys in insertion order. */
  keys(): string[] {
    return this.namedParameters('', false, false).map(([k]) => k);
  }

  /** Parameters in insertion order. */
  values(): Parameter[] {
    return this.namedParameters('', false, false).map(([, p]) => p);
  }

  /** `[key, parameter]` pairs in insertion order. */
  items(): [string, Parameter][] {
    return this.namedParameters('', false, false);
  }

  /** Number of entries. */
  get length(): number {
    return this.keys().length;
  }

  /** Iterates the keys. */
  [Symbol.iterator](): Iterator<string> {
    return this.keys()[Symbol.iterator]();
  }

  /** ParameterDict has no forward. */
  forward(): never {
    throw new GhostFlowError('ParameterDict has no forward(); get a parameter by key');
  }
}
