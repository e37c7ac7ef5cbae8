/**
 * The learning-rate scheduler base (torch.optim.lr_scheduler._LRScheduler, torch 1.13):
 * `step()` advances `lastEpoch` and applies the scheduler's chainable form (which reads each
 * group's current `lr`, so schedulers compose, e.g. in {@link ChainedScheduler});
 * `step(epoch)` jumps to `epoch` with the closed form where PyTorch has one.
 */
import { GhostFlowError } from '@ghostflow/core';
import type { BaseGroupOptions, Optimizer } from './optimizer.js';

/** A scheduler's state: its own fields (JSON values), as PyTorch's `__dict__` minus the optimizer. */
export type SchedulerStateDict = Record<string, unknown>;

/** What every scheduler (including {@link ReduceLROnPlateau}) offers for checkpoints. */
export interface SchedulerLike {
  /** The rates the last step set, one per group. */
  getLastLr(): number[];
  /** The scheduler's state (JSON-serialisable). */
  stateDict(): SchedulerStateDict;
  /** Restores a state from `stateDict()`. */
  loadStateDict(state: SchedulerStateDict): void;
}

/** Copies a scheduler's own fields, leaving out the optimizer, functions and `skip`. */
export function fieldsOf(obj: object, skip: readonly string[] = []): SchedulerStateDict {
  const out: SchedulerStateDict = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'optimizer' || skip.includes(k) || typeof v === 'function') continue;
    out[k] = structuredClone(v);
  }
  return out;
}

/** Assigns saved fields back, checking the keys are this scheduler's. */
export function assignFields(who: string, obj: object, state: SchedulerStateDict, skip: readonly string[] = []): void {
  if (typeof state !== 'object' || state === null || Array.isArray(state))
    throw new GhostFlowError(`${who}.loadStateDict: expected an object from stateDict(), got ${state === null ? 'null' : typeof state}`);
  const own = Object.keys(fieldsOf(obj, skip));
  const unexpected = Object.keys(state).filter((k) => !own.includes(k) && !skip.includes(k));
  const missing = own.filter((k) => !(k in state));
  if (unexpected.length || missing.length)
    throw new GhostFlowError(
      `${who}.loadStateDict: ${missing.length ? `missing keys: ${missing.join(', ')}` : ''}${missing.length && unexpected.length ? '; ' : ''}${unexpected.length ? `unexpected keys: ${unexpected.join(', ')}` : ''}`,
    );
  for (const k of own) (obj as Record<string, unknown>)[k] = structuredClone(state[k]);
}

/**
 * Base of the epoch schedulers. On construction each group's `initialLr` is set (from its `lr`
 * unless already there) and, once the subclass is set up, the rate for the next epoch (0 when
 * starting fresh) is applied, as PyTorch's. Call `step()` once per epoch (or batch, for
 * OneCycleLR), after `optimizer.step()`.
 */
export abstract class LRScheduler implements SchedulerLike {
  /** The scheduled optimizer. */
  readonly optimizer: Optimizer<BaseGroupOptions>;
  /** Each group's starting learning rate. */
  baseLrs: number[];
  /** The epoch whose rates are applied. */
  lastEpoch: number;
  /** Number of `step()` calls, including the one made on construction. */
  protected stepCount = 0;
  /** The rates the last step set. */
  protected lastLr: number[] = [];

  /**
   * @param optimizer the optimizer whose groups' `lr` this sets
   * @param lastEpoch the epoch to resume after (default -1: start fresh; otherwise every group needs `initialLr`)
   */
  protected constructor(optimizer: Optimizer<BaseGroupOptions>, lastEpoch = -1) {
    this.optimizer = optimizer;
    optimizer.paramGroups.forEach((g, i) => {
      if (lastEpoch === -1) g.initialLr = g.initialLr ?? g.lr;
      else if (g.initialLr === undefined)
        throw new GhostFlowError(
          `param 'initialLr' is not specified in paramGroups[${i}] when resuming a scheduler (lastEpoch ${lastEpoch}, not -1)`,
        );
    });
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** The first step, made by each subclass's constructor once its fields are set (PyTorch's `_initial_step`). */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The rates at `lastEpoch` in PyTorch's chainable form (from each group's current `lr`). */
  protected abstract getLr(): number[];

  /** The rates at `lastEpoch` from the base rates, where the schedule has a closed form (used by `step(epoch)`). */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /** The current `lr` of every group. */
  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /**
   * Advances one epoch (chainable form), or jumps to `epoch` (closed form where there is
   * one, as PyTorch's deprecated `step(epoch)`), and sets every group's `lr`.
   */
  step(epoch?: number): void {
    this.stepCount += 1;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch += 1;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedFormLr() ?? this.getLr();
    }
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = values[i];
    });
    this.lastLr = this.groupLrs();
  }

  /** The rates the last `step()` set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /**
   * The scheduler's state (PyTorch's `state_dict()`: every field but the optimizer, and
   * not the user's functions of LambdaLR/MultiplicativeLR), JSON-serialisable.
   *
   * @example
   * ```ts
   * import '@ghostflow/backend-cpu';
   * import { Linear, SGD, StepLR } from '@ghostflow/nn';
   * const model = new Linear(4, 1);
   * const opt = new SGD(model.parameters(), { lr: 0.1 });
   * const sched = new StepLR(opt, 10);
   * const saved = sched.stateDict();
   * const resumed = new StepLR(opt, 10);
   * resumed.loadStateDict(saved);
   * ```
   */
  stateDict(): SchedulerStateDict {
    return fieldsOf(this);
  }

  /** Restores a state from {@link stateDict} (the keys must be this scheduler's). */
  loadStateDict(state: SchedulerStateDict): void {
    assignFields(this.constructor.name, this, state);
  }
}
