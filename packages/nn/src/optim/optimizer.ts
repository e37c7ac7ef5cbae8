/**
 * The optimizer base: parameter groups with per-group hyper-parameters, per-parameter state
 * tensors, and an in-place `step()`: each parameter's new value is written into its own
 * buffer (`param.copy_(...)` under `noGrad`, like PyTorch's `param.add_`), so modules, views
 * of the parameter (weight tying through `.t()`, cached slices) and anything else holding it
 * see the update.
 */
import { type Tensor, GhostFlowError, keep, noGrad, tidy } from '@ghostflow/core';
import { EMPTY_NOTE } from '../module.js';

/** Hyper-parameters every optimizer has. */
export interface BaseGroupOptions {
  /** Learning rate. */
  lr: number;
}

/** A parameter group: its parameters plus its own hyper-parameters. */
export type ParamGroup<O extends BaseGroupOptions> = O & {
  /** The parameters this group updates. */
  params: Tensor[];
  /** The learning rate when a scheduler was attached (set by {@link LRScheduler}). */
  initialLr?: number;
};

/** A parameter group as given to a constructor: parameters plus any hyper-parameter overrides. */
export type ParamGroupInput<O extends BaseGroupOptions> = Partial<O> & {
  /** The parameters of the group. */
  params: Iterable<Tensor>;
};

/** What an optimizer takes: parameters (e.g. `model.parameters()`) or parameter groups. */
export type ParamsInput<O extends BaseGroupOptions> = Iterable<Tensor> | readonly ParamGroupInput<O>[];

/** Per-parameter optimizer state: a step count and named state tensors (kept alive, owned). */
export class ParamState {
  /** Number of steps taken for this parameter. */
  step = 0;
  private readonly tensors = new Map<string, Tensor>();

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

  /** Names and tensors, in insertion order. */
  entries(): [string, Tensor][] {
    return [...this.tensors];
  }

  /** Frees every state tensor. */
  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}

function isGroupList<O extends BaseGroupOptions>(params: ParamsInput<O>): params is readonly ParamGroupInput<O>[] {
  return (
    Array.isArray(params) &&
    params.length > 0 &&
    !(typeof (params[0] as { dispose?: unknown }).dispose === 'function' && 'shape' in (params[0] as object))
  );
}

/**
 * Base class of the optimizers (torch.optim.Optimizer). Subclasses implement
 * {@link Optimizer.updateParameter}; `step()` runs it for every parameter that has a
 * gradient, under `noGrad` and inside a `tidy`, so only the kept state survives.
 */
export abstract class Optimizer<O extends BaseGroupOptions> {
  /** Hyper-parameter defaults, filled into groups that do not set them. */
  readonly defaults: Readonly<O>;
  /** Parameter groups, each with its own hyper-parameters (change `lr` here, as in PyTorch). */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state. */
  protected readonly state = new Map<Tensor, ParamState>();

  /**
   * @param params parameters, or groups `{ params, ...overrides }`
   * @param defaults every hyper-parameter's default
   */
  constructor(params: ParamsInput<O>, defaults: O) {
    this.defaults = Object.freeze({ ...defaults });
    const groups: readonly ParamGroupInput<O>[] = isGroupList(params)
      ? params
      : [{ params: params as Iterable<Tensor> } as ParamGroupInput<O>];
    if (groups.length === 0) throw new GhostFlowError('optimizer got an empty parameter list');
    for (const g of groups) this.addParamGroup(g);
    if (this.paramGroups.every((g) => g.params.length === 0)) {
      // model.parameters() of a module that registered nothing says so (see Module.parameters).
      const note = groups.map((g) => (g.params as { [EMPTY_NOTE]?: string })[EMPTY_NOTE]).find((n) => n !== undefined);
      throw new GhostFlowError(`optimizer got an empty parameter list${note ? `: ${note}` : ''}`);
    }
  }

  /** Adds a parameter group (e.g. layers unfrozen later); unspecified options take the defaults. */
  addParamGroup(group: ParamGroupInput<O>): void {
    const params = [...group.params];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of params) {
      if (p.dtype !== 'float32') throw new GhostFlowError(`optimizer can only optimize float32 tensors, got ${p.dtype}`);
      if (!p.isLeaf) throw new GhostFlowError('optimizer can only optimize leaf tensors (parameters); got a tensor produced by an op');
      if (seen.has(p)) throw new GhostFlowError('some parameters appear in more than one parameter group');
      seen.add(p);
    }
    const merged = { ...this.defaults } as O;
    for (const [k, v] of Object.entries(group)) if (k !== 'params' && v !== undefined) (merged as Record<string, unknown>)[k] = v;
    this.paramGroups.push({ ...merged, params });
  }

  /** Updates every parameter that has a gradient, in place. */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const grad = p.grad;
          if (!grad) continue;
          let st = this.state.get(p);
          if (!st) {
            st = new ParamState();
            this.state.set(p, st);
          }
          const state = st;
          tidy(() => {
            state.step += 1;
            this.updateParameter(p, grad, group, state);
          });
        }
      }
    });
  }

  /**
   * Computes one parameter's update: read `grad`, update `state` with `state.set`, and
   * write the new value in place (`param.copy_(...)`). Runs under noGrad inside a tidy;
   * `state.step` is already incremented.
   */
  protected abstract updateParameter(param: Tensor, grad: Tensor, group: ParamGroup<O>, state: ParamState): void;

  /** Clears the gradients of every parameter (`setToNone`, PyTorch 2's default: `grad = null`; else zeros). */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const g = p.grad;
        if (!g) continue;
        if (setToNone) p.grad = null;
        else p.grad = keep(noGrad(() => g.mul(0)));
      }
    }
  }

  /** The state of `param` (step count and state tensors), if it has taken a step. */
  getState(param: Tensor): ParamState | undefined {
    return this.state.get(param);
  }

  /** Frees every state tensor (the parameters are not touched). */
  dispose(): void {
    for (const s of this.state.values()) s.dispose();
    this.state.clear();
  }
}
