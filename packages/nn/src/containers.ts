/** Containers: Sequential, ModuleList, ModuleDict (PyTorch's names: children '0', '1', ...). */
import { GhostFlowError, tidy } from '@ghostflow/core';
import { Module } from './module.js';

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
