/**
 * The optimizer base: parameter groups with per-group hyper-parameters, per-parameter state
 * tensors, and an in-place `step()`: each parameter's new value is written into its own
 * buffer (`param.copy_(...)` under `noGrad`, like PyTorch's `param.add_`), so modules, views
 * of the parameter (weight tying through `.t()`, cached slices) and anything else holding it
 * see the update.
 */
import { type Tensor, GhostFlowError, enableGrad, keep, noGrad, tidy } from '@ghostflow/core';
import { EMPTY_NOTE } from '../module.js';
import { ParamState } from './param-state.js';
import { type OptimizerStateDict, type ParamGroupState, type ParamStateEntry, checkStateDictShape } from './state-dict.js';

export { ParamState } from './param-state.js';

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

/**
 * A loss closure for {@link Optimizer.step}: re-evaluates the model, calls `backward()` and
 * returns the loss (a Tensor, or a Promise of one when it reads values asynchronously).
 */
export type Closure = () => Tensor | Promise<Tensor>;

function isGroupList<O extends BaseGroupOptions>(params: ParamsInput<O>): params is readonly ParamGroupInput<O>[] {
  return (
    Array.isArray(params) &&
    params.length > 0 &&
    !(typeof (params[0] as { dispose?: unknown }).dispose === 'function' && 'shape' in (params[0] as object))
  );
}

/** Whether `v` is a thenable (an async closure's result). */
export function isPromiseLike<T>(v: unknown): v is PromiseLike<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
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

  /**
   * Updates every parameter that has a gradient, in place (torch.optim.Optimizer.step).
   *
   * With a `closure`, it is called first (with gradient recording on) to re-evaluate the loss
   * and its gradients, then the update runs, and the closure's loss is returned. The
   * contract follows the closure: a synchronous closure (returning a Tensor) makes `step`
   * synchronous and return that Tensor; an async closure (returning a Promise) makes `step`
   * return a Promise that resolves to the loss after the update. The loss is the caller's
   * (dispose it). Without a closure `step` returns `undefined`.
   *
   * @example
   * ```ts
   * import { randn } from '@ghostflow/core';
   * import '@ghostflow/backend-cpu';
   * import { Linear, mseLoss, SGD } from '@ghostflow/nn';
   * const model = new Linear(4, 1);
   * const opt = new SGD(model.parameters(), { lr: 0.1 });
   * const x = randn([16, 4]);
   * const y = randn([16, 1]);
   * const loss = opt.step(() => {
   *   opt.zeroGrad();
   *   const l = mseLoss(model.forward(x), y);
   *   l.backward();
   *   return l;
   * });
   * console.log(loss.itemSync());
   * ```
   */
  step(): undefined;
  step(closure: () => Tensor): Tensor;
  step(closure: () => Promise<Tensor>): Promise<Tensor>;
  step(closure?: Closure): Tensor | Promise<Tensor> | undefined;
  step(closure?: Closure): Tensor | Promise<Tensor> | undefined {
    if (closure === undefined) {
      this.update();
      return undefined;
    }
    if (typeof closure !== 'function')
      throw new GhostFlowError(`step: expected a closure (a function returning the loss), got ${typeof closure}`);
    const loss = enableGrad(closure);
    if (isPromiseLike<Tensor>(loss)) {
      return Promise.resolve(loss).then((l) => {
        this.update();
        return l;
      });
    }
    this.update();
    return loss;
  }

  /** One update of every parameter with a gradient (the body of `step`, after any closure). */
  protected update(): void {
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

  /**
   * The shape a state tensor `name` of `param` must have when loaded (default: the
   * parameter's shape, true of every per-element optimizer), or null for no check.
   */
  protected stateShape(_name: string, param: Tensor): readonly number[] | null {
    return param.shape;
  }

  /**
   * The optimizer's state in PyTorch's layout (torch.optim.Optimizer.state_dict):
   * `state` maps a parameter's index (counted across groups in order) to its `step` and
   * state tensors under PyTorch's names (`exp_avg`, `momentum_buffer`, ...); `paramGroups`
   * holds each group's hyper-parameters with `params` as index lists. The tensors are
   * copies the caller owns (dispose them, e.g. with {@link disposeOptimizerStateDict}).
   *
   * @example
   * ```ts
   * import '@ghostflow/backend-cpu';
   * import { Adam, disposeOptimizerStateDict, Linear } from '@ghostflow/nn';
   * const model = new Linear(4, 1);
   * const opt = new Adam(model.parameters());
   * const sd = opt.stateDict();
   * const fresh = new Adam(model.parameters());
   * fresh.loadStateDict(sd);
   * disposeOptimizerStateDict(sd);
   * ```
   */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamStateEntry> = {};
    const paramGroups: ParamGroupState[] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const indices: number[] = [];
      for (const p of group.params) {
        const st = this.state.get(p);
        if (st) state[index] = st.toEntry();
        indices.push(index++);
      }
      const { params: _params, ...hyper } = group;
      paramGroups.push({ ...structuredClone(hyper as Record<string, unknown>), params: indices });
    }
    return { state, paramGroups };
  }

  /**
   * Restores a state from {@link stateDict} (torch.optim.Optimizer.load_state_dict): the
   * groups' hyper-parameters are replaced by the saved ones (parameters stay), and each
   * parameter's state is copied in (into its existing state tensors where it has them; the
   * dict's tensors stay the caller's). The group count, each group's size and every state
   * tensor's shape and device must match; nothing is changed when one does not.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (
      typeof dict !== 'object' ||
      dict === null ||
      !Array.isArray(dict.paramGroups) ||
      typeof dict.state !== 'object' ||
      dict.state === null
    )
      throw new GhostFlowError(`${name}.loadStateDict: expected { state, paramGroups }, got ${dict === null ? 'null' : typeof dict}`);
    if (dict.paramGroups.length !== this.paramGroups.length)
      throw new GhostFlowError(
        `${name}.loadStateDict: loaded state dict has ${dict.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}`,
      );
    const byIndex = new Map<number, Tensor>();
    dict.paramGroups.forEach((saved, gi) => {
      const own = this.paramGroups[gi].params;
      if (!Array.isArray(saved.params) || saved.params.length !== own.length)
        throw new GhostFlowError(
          `${name}.loadStateDict: parameter group ${gi} has ${Array.isArray(saved.params) ? saved.params.length : 'no'} parameters in the state dict but ${own.length} in the optimizer`,
        );
      saved.params.forEach((idx, k) => byIndex.set(idx, own[k]));
    });
    const plan: [Tensor, ParamStateEntry][] = [];
    for (const [key, entry] of Object.entries(dict.state)) {
      const p = byIndex.get(Number(key));
      if (p === undefined)
        throw new GhostFlowError(`${name}.loadStateDict: state for parameter index ${key}, which no parameter group lists`);
      checkStateDictShape(name, key, entry, p, (n) => this.stateShape(n, p));
      plan.push([p, entry]);
    }
    dict.paramGroups.forEach((saved, gi) => {
      const own = this.paramGroups[gi];
      const { params: _params, ...hyper } = saved;
      Object.assign(own, structuredClone(hyper));
    });
    for (const p of [...this.state.keys()]) {
      if (!plan.some(([q]) => q === p)) {
        this.state.get(p)?.dispose();
        this.state.delete(p);
      }
    }
    for (const [p, entry] of plan) {
      let st = this.state.get(p);
      if (!st) {
        st = new ParamState();
        this.state.set(p, st);
      }
      st.loadEntry(entry);
    }
  }

  /** Frees every state tensor (the parameters are not touched). */
  dispose(): void {
    for (const s of this.state.values()) s.dispose();
    this.state.clear();
  }
}
