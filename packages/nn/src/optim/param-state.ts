/** Per-parameter optimizer state: a step count, named tensors, tensor lists and numbers. */
import { type Tensor, Tensor as TensorClass, keep, noGrad } from '@ghostflow/core';
import type { ParamStateEntry } from './state-dict.js';

/**
 * One parameter's optimizer state: a step count and named state tensors (kept alive,
 * owned), plus the numbers and tensor lists that LBFGS keeps (its history).
 */
export class ParamState {
  /** Number of steps taken for this parameter. */
  step = 0;
  private readonly tensors = new Map<string, Tensor>();
  private readonly lists = new Map<string, Tensor[]>();
  private readonly numbers = new Map<string, number>();
  private readonly numberLists = new Map<string, number[]>();

  /** The state tensor `name`, or undefined. */
  get(name: string): Tensor | undefined {
    return this.tensors.get(name);
  }

  /** Stores `value` under `name` (kept out of any tidy scope), disposing the previous one. */
  set(name: string, value: Tensor): Tensor {
    const old = this.tensors.get(name);
    keep(value);
    this.tensors.set(name, value);
    if (old && old !== value) old.dispose();
    return value;
  }

  /** The tensor list `name` (LBFGS history), or undefined; the list and its tensors stay owned here. */
  getList(name: string): readonly Tensor[] | undefined {
    return this.lists.get(name);
  }

  /** Stores a tensor list under `name` (each kept), disposing the tensors of the previous list that it drops. */
  setList(name: string, values: readonly Tensor[]): void {
    const old = this.lists.get(name) ?? [];
    for (const t of values) keep(t);
    for (const t of old) if (!values.includes(t)) t.dispose();
    this.lists.set(name, [...values]);
  }

  /** The number `name` (e.g. LBFGS's `func_evals`), or undefined. */
  getNumber(name: string): number | undefined {
    return this.numbers.get(name);
  }

  /** Stores the number `name`. */
  setNumber(name: string, value: number): void {
    this.numbers.set(name, value);
  }

  /** The number list `name` (LBFGS's `ro`), or undefined. */
  getNumberList(name: string): readonly number[] | undefined {
    return this.numberLists.get(name);
  }

  /** Stores the number list `name` (copied). */
  setNumberList(name: string, values: readonly number[]): void {
    this.numberLists.set(name, [...values]);
  }

  /** Forgets `name` (tensor, list or number), disposing its tensors. */
  delete(name: string): void {
    this.tensors.get(name)?.dispose();
    this.tensors.delete(name);
    for (const t of this.lists.get(name) ?? []) t.dispose();
    this.lists.delete(name);
    this.numbers.delete(name);
    this.numberLists.delete(name);
  }

  /** Names and tensors, in insertion order. */
  entries(): [string, Tensor][] {
    return [...this.tensors];
  }

  /** This state as a state-dict entry: `step`, numbers, and copies of the tensors and lists (the caller owns them). */
  toEntry(): ParamStateEntry {
    return noGrad(() => {
      const out: ParamStateEntry = { step: this.step };
      for (const [k, v] of this.numbers) out[k] = v;
      for (const [k, v] of this.numberLists) out[k] = [...v];
      for (const [k, t] of this.tensors) out[k] = keep(t.clone());
      for (const [k, l] of this.lists) out[k] = l.map((t) => keep(t.clone()));
      return out;
    });
  }

  /**
   * Replaces this state by `entry` (already validated): a tensor whose name this state has
   * with the same shape is copied into the existing tensor, others are cloned; names the entry
   * lacks are dropped.
   */
  loadEntry(entry: ParamStateEntry): void {
    noGrad(() => {
      this.step = typeof entry.step === 'number' ? entry.step : 0;
      const names = new Set(Object.keys(entry));
      for (const k of [...this.tensors.keys(), ...this.lists.keys(), ...this.numbers.keys(), ...this.numberLists.keys()])
        if (!names.has(k)) this.delete(k);
      for (const [k, v] of Object.entries(entry)) {
        if (k === 'step') continue;
        if (typeof v === 'number') {
          this.delete(k);
          this.numbers.set(k, v);
        } else if (v instanceof TensorClass) {
          const own = this.tensors.get(k);
          if (own && own.shape.length === v.shape.length && own.shape.every((d, i) => d === v.shape[i])) own.copy_(v);
          else {
            this.delete(k);
            this.set(k, v.clone());
          }
        } else if (v.length > 0 && v.every((x): x is number => typeof x === 'number')) {
          this.delete(k);
          this.numberLists.set(k, [...v]);
        } else {
          this.delete(k);
          this.setList(
            k,
            (v as Tensor[]).map((t) => t.clone()),
          );
        }
      }
    });
  }

  /** Frees every state tensor. */
  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    for (const l of this.lists.values()) for (const t of l) t.dispose();
    this.tensors.clear();
    this.lists.clear();
    this.numbers.clear();
    this.numberLists.clear();
  }
}
