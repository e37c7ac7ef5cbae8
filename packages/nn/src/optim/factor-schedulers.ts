/**
 * Schedulers that multiply the learning rate by a factor per epoch (torch 1.13's chainable
 * forms and, where PyTorch has them, closed forms): LambdaLR, MultiplicativeLR, StepLR,
 * MultiStepLR, ExponentialLR, ConstantLR, LinearLR, PolynomialLR.
 */
import { GhostFlowError } from '@ghostflow/core';
import { LRScheduler, type SchedulerStateDict, assignFields, fieldsOf } from './lr-scheduler.js';
import type { BaseGroupOptions, Optimizer } from './optimizer.js';

type AnyOptimizer = Optimizer<BaseGroupOptions>;

/** The common option of every epoch scheduler. */
export interface SchedulerOptions {
  /** Epoch to resume after (default -1: start fresh; otherwise every group needs `initialLr`). */
  lastEpoch?: number;
}

function lambdas(who: string, optimizer: AnyOptimizer, fn: ((epoch: number) => number) | readonly ((epoch: number) => number)[]) {
  const list = typeof fn === 'function' ? optimizer.paramGroups.map(() => fn) : [...fn];
  if (list.length !== optimizer.paramGroups.length)
    throw new GhostFlowError(`${who}: expected ${optimizer.paramGroups.length} lr lambdas, got ${list.length}`);
  for (const f of list) if (typeof f !== 'function') throw new GhostFlowError(`${who}: expected functions of the epoch, got ${typeof f}`);
  return list;
}

/**
 * torch.optim.lr_scheduler.LambdaLR: `lr = baseLr * lrLambda(epoch)` (one function, or one
 * per group). The functions are not part of `stateDict()`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { LambdaLR, Linear, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const warmup = new LambdaLR(opt, (epoch) => Math.min(1, (epoch + 1) / 100));
 * ```
 */
export class LambdaLR extends LRScheduler {
  /** The factor function of each group. */
  readonly lrLambdas: ((epoch: number) => number)[];

  constructor(
    optimizer: AnyOptimizer,
    lrLambda: ((epoch: number) => number) | readonly ((epoch: number) => number)[],
    options: SchedulerOptions = {},
  ) {
    super(optimizer, options.lastEpoch ?? -1);
    this.lrLambdas = lambdas('LambdaLR', optimizer, lrLambda);
    this.initialStep();
  }

  protected getLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lrLambdas[i](this.lastEpoch));
  }

  override stateDict(): SchedulerStateDict {
    return fieldsOf(this, ['lrLambdas']);
  }

  override loadStateDict(state: SchedulerStateDict): void {
    assignFields('LambdaLR', this, state, ['lrLambdas']);
  }
}

/**
 * torch.optim.lr_scheduler.MultiplicativeLR: from epoch 1 on, `lr = lr * lrLambda(epoch)`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Linear, MultiplicativeLR, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const sched = new MultiplicativeLR(opt, () => 0.95);
 * ```
 */
export class MultiplicativeLR extends LRScheduler {
  /** The factor function of each group. */
  readonly lrLambdas: ((epoch: number) => number)[];

  constructor(
    optimizer: AnyOptimizer,
    lrLambda: ((epoch: number) => number) | readonly ((epoch: number) => number)[],
    options: SchedulerOptions = {},
  ) {
    super(optimizer, options.lastEpoch ?? -1);
    this.lrLambdas = lambdas('MultiplicativeLR', optimizer, lrLambda);
    this.initialStep();
  }

  protected getLr(): number[] {
    const lrs = this.groupLrs();
    if (this.lastEpoch > 0) return lrs.map((lr, i) => lr * this.lrLambdas[i](this.lastEpoch));
    return lrs;
  }

  override stateDict(): SchedulerStateDict {
    return fieldsOf(this, ['lrLambdas']);
  }

  override loadStateDict(state: SchedulerStateDict): void {
    assignFields('MultiplicativeLR', this, state, ['lrLambdas']);
  }
}

/** Options of {@link StepLR}. */
export interface StepLROptions extends SchedulerOptions {
  /** Decay factor (default 0.1). */
  gamma?: number;
}

/**
 * torch.optim.lr_scheduler.StepLR: multiplies the rate by `gamma` every `stepSize` epochs
 * (closed form `baseLr * gamma ^ floor(epoch / stepSize)`).
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Linear, SGD, StepLR } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const sched = new StepLR(opt, 30, { gamma: 0.1 });
 * ```
 */
export class StepLR extends LRScheduler {
  /** Epochs between decays. */
  readonly stepSize: number;
  /** Decay factor. */
  readonly gamma: number;

  /**
   * @param optimizer the optimizer (any kind)
   * @param stepSize epochs between decays
   */
  constructor(optimizer: AnyOptimizer, stepSize: number, options: StepLROptions = {}) {
    super(optimizer, options.lastEpoch ?? -1);
    if (!(Number.isInteger(stepSize) && stepSize > 0))
      throw new GhostFlowError(`StepLR: stepSize must be a positive integer, got ${stepSize}`);
    this.stepSize = stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }

  protected getLr(): number[] {
    const lrs = this.groupLrs();
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Options of {@link MultiStepLR}. */
export interface MultiStepLROptions extends SchedulerOptions {
  /** Decay factor (default 0.1). */
  gamma?: number;
}

/**
 * torch.optim.lr_scheduler.MultiStepLR: multiplies the rate by `gamma` at each milestone
 * (by `gamma^k` at a milestone listed k times).
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Linear, MultiStepLR, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const sched = new MultiStepLR(opt, [30, 80], { gamma: 0.1 });
 * ```
 */
export class MultiStepLR extends LRScheduler {
  /** The milestones, sorted (repeats kept). */
  readonly milestones: number[];
  /** Decay factor. */
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, milestones: readonly number[], options: MultiStepLROptions = {}) {
    super(optimizer, options.lastEpoch ?? -1);
    if (!Array.isArray(milestones) || !milestones.every((m) => Number.isInteger(m)))
      throw new GhostFlowError(`MultiStepLR: milestones must be a list of integers, got ${String(milestones)}`);
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }

  protected getLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    const lrs = this.groupLrs();
    if (hits === 0) return lrs;
    return lrs.map((lr) => lr * this.gamma ** hits);
  }

  protected override closedFormLr(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((base) => base * this.gamma ** passed);
  }
}

/** Options of {@link ExponentialLR}. */
export interface ExponentialLROptions extends SchedulerOptions {}

/**
 * torch.optim.lr_scheduler.ExponentialLR: `lr = lr * gamma` every epoch.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { ExponentialLR, Linear, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const sched = new ExponentialLR(opt, 0.9);
 * ```
 */
export class ExponentialLR extends LRScheduler {
  /** Decay factor per epoch. */
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, gamma: number, options: ExponentialLROptions = {}) {
    super(optimizer, options.lastEpoch ?? -1);
    if (typeof gamma !== 'number') throw new GhostFlowError(`ExponentialLR: gamma must be a number, got ${typeof gamma}`);
    this.gamma = gamma;
    this.initialStep();
  }

  protected getLr(): number[] {
    const lrs = this.groupLrs();
    if (this.lastEpoch === 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** this.lastEpoch);
  }
}

/** Options of {@link ConstantLR}. */
export interface ConstantLROptions extends SchedulerOptions {
  /** Factor applied until `totalIters` (default 1/3). */
  factor?: number;
  /** Epochs with the factor (default 5). */
  totalIters?: number;
}

/**
 * torch.optim.lr_scheduler.ConstantLR: `lr = baseLr * factor` until epoch `totalIters`, then `baseLr`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { ConstantLR, Linear, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const sched = new ConstantLR(opt, { factor: 0.5, totalIters: 4 });
 * ```
 */
export class ConstantLR extends LRScheduler {
  /** Factor before `totalIters`. */
  readonly factor: number;
  /** Epochs with the factor. */
  readonly totalIters: number;

  constructor(optimizer: AnyOptimizer, options: ConstantLROptions = {}) {
    super(optimizer, options.lastEpoch ?? -1);
    this.factor = options.factor ?? 1 / 3;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.factor >= 0 && this.factor <= 1)) throw new GhostFlowError(`ConstantLR: factor must be between 0 and 1, got ${this.factor}`);
    this.initialStep();
  }

  protected getLr(): number[] {
    const lrs = this.groupLrs();
    if (this.lastEpoch === 0) return lrs.map((lr) => lr * this.factor);
    if (this.lastEpoch !== this.totalIters) return lrs;
    return lrs.map((lr) => lr * (1 / this.factor));
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * (this.factor + (this.lastEpoch >= this.totalIters ? 1 : 0) * (1 - this.factor)));
  }
}

/** Options of {@link LinearLR}. */
export interface LinearLROptions extends SchedulerOptions {
  /** Factor at epoch 0 (default 1/3). */
  startFactor?: number;
  /** Factor from `totalIters` on (default 1). */
  endFactor?: number;
  /** Epochs of the ramp (default 5). */
  totalIters?: number;
}

/**
 * torch.optim.lr_scheduler.LinearLR (linear warm-up/decay of a factor): closed form
 * `lr = baseLr (startFactor + (endFactor - startFactor) min(epoch, totalIters) / totalIters)`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Linear, LinearLR, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const warmup = new LinearLR(opt, { startFactor: 0.1, totalIters: 10 });
 * ```
 */
export class LinearLR extends LRScheduler {
  /** Factor at epoch 0. */
  readonly startFactor: number;
  /** Final factor. */
  readonly endFactor: number;
  /** Ramp length in epochs. */
  readonly totalIters: number;

  /** @param optimizer the optimizer (any kind) */
  constructor(optimizer: AnyOptimizer, options: LinearLROptions = {}) {
    super(optimizer, options.lastEpoch ?? -1);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1))
      throw new GhostFlowError(`LinearLR: startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1))
      throw new GhostFlowError(`LinearLR: endFactor must be in [0, 1], got ${this.endFactor}`);
    if (!(Number.isInteger(this.totalIters) && this.totalIters >= 0))
      throw new GhostFlowError(`LinearLR: totalIters must be a non-negative integer, got ${this.totalIters}`);
    this.initialStep();
  }

  protected getLr(): number[] {
    const lrs = this.groupLrs();
    if (this.lastEpoch === 0) return lrs.map((lr) => lr * this.startFactor);
    if (this.lastEpoch > this.totalIters) return lrs;
    const span = this.endFactor - this.startFactor;
    return lrs.map((lr) => lr * (1 + span / (this.totalIters * this.startFactor + (this.lastEpoch - 1) * span)));
  }

  protected override closedFormLr(): number[] {
    // No ramp: PyTorch's closed form would divide 0 by 0; its chainable form keeps startFactor.
    if (this.totalIters === 0) return this.baseLrs.map((base) => base * this.startFactor);
    return this.baseLrs.map(
      (base) =>
        base * (this.startFactor + ((this.endFactor - this.startFactor) * Math.min(this.totalIters, this.lastEpoch)) / this.totalIters),
    );
  }
}

/** Options of {@link PolynomialLR}. */
export interface PolynomialLROptions extends SchedulerOptions {
  /** Epochs of the decay (default 5). */
  totalIters?: number;
  /** Power of the polynomial (default 1). */
  power?: number;
}

/**
 * torch.optim.lr_scheduler.PolynomialLR: `lr = baseLr (1 - min(epoch, totalIters) / totalIters)^power`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Linear, PolynomialLR, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const sched = new PolynomialLR(opt, { totalIters: 100, power: 2 });
 * ```
 */
export class PolynomialLR extends LRScheduler {
  /** Epochs of the decay. */
  readonly totalIters: number;
  /** Power of the polynomial. */
  readonly power: number;

  constructor(optimizer: AnyOptimizer, options: PolynomialLROptions = {}) {
    super(optimizer, options.lastEpoch ?? -1);
    this.totalIters = options.totalIters ?? 5;
    this.power = options.power ?? 1;
    if (!(this.totalIters > 0)) throw new GhostFlowError(`PolynomialLR: totalIters must be positive, got ${this.totalIters}`);
    this.initialStep();
  }

  protected getLr(): number[] {
    const lrs = this.groupLrs();
    if (this.lastEpoch === 0 || this.lastEpoch > this.totalIters) return lrs;
    const factor = ((1 - this.lastEpoch / this.totalIters) / (1 - (this.lastEpoch - 1) / this.totalIters)) ** this.power;
    return lrs.map((lr) => lr * factor);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * (1 - Math.min(this.totalIters, this.lastEpoch) / this.totalIters) ** this.power);
  }
}
