/**
 * Learning-rate schedulers (torch.optim.lr_scheduler), each computing the rate from its
 * closed form at `lastEpoch`, so the schedule does not drift and holds no tensors.
 */
import { GhostFlowError } from '@ghostflow/core';
import type { BaseGroupOptions, Optimizer } from './optimizer.js';

/**
 * Base of the schedulers. On construction each group's `initialLr` is set (from its `lr`
 * unless already there) and, once the subclass is set up, the rate for the next epoch
 * (0 when starting fresh) is applied, as PyTorch's. Call `step()` once per epoch, after
 * `optimizer.step()`.
 */
export abstract class LRScheduler {
  /** The scheduled optimizer. */
  readonly optimizer: Optimizer<BaseGroupOptions>;
  /** Each group's starting learning rate. */
  readonly baseLrs: readonly number[];
  /** The epoch whose rates are applied. */
  lastEpoch: number;
  private lastLr: number[] = [];

  /**
   * @param optimizer the optimizer whose groups' `lr` this sets
   * @param lastEpoch the epoch to resume after (default -1: start fresh; otherwise every group needs `initialLr`)
   */
  protected constructor(optimizer: Optimizer<BaseGroupOptions>, lastEpoch = -1) {
    this.optimizer = optimizer;
    for (const g of optimizer.paramGroups) {
      if (lastEpoch === -1) g.initialLr = g.initialLr ?? g.lr;
      else if (g.initialLr === undefined)
        throw new GhostFlowError("param 'initialLr' is not specified in paramGroups when resuming a scheduler (lastEpoch != -1)");
    }
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** The learning rate at `epoch` for a group that started at `baseLr` (the closed form). */
  protected abstract lrAt(baseLr: number, epoch: number): number;

  /** Advances one epoch (or jumps to `epoch`) and sets every group's `lr`. */
  step(epoch?: number): void {
    this.lastEpoch = epoch ?? this.lastEpoch + 1;
    this.lastLr = this.baseLrs.map((base) => this.lrAt(base, this.lastEpoch));
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.lastLr[i];
    });
  }

  /** The rates the last `step()` set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }
}

/** Options of {@link StepLR}. */
export interface StepLROptions {
  /** Decay factor (default 0.1). */
  gamma?: number;
  /** Epoch to resume after (default -1). */
  lastEpoch?: number;
}

/**
 * torch.optim.lr_scheduler.StepLR: `lr = baseLr * gamma ^ floor(epoch / stepSize)`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Linear, SGD, StepLR } from '@ghostflow/nn';
 * const optimizer = new SGD(new Linear(2, 1).parameters(), { lr: 0.1 });
 * const scheduler = new StepLR(optimizer, 30, { gamma: 0.1 }); // 0.1 for 30 epochs, then 0.01, ...
 * for (let epoch = 0; epoch < 90; epoch++) {
 *   // ... train one epoch: optimizer.step() per batch ...
 *   scheduler.step();
 * }
 * console.log(scheduler.getLastLr()); // [0.0001]
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
  constructor(optimizer: Optimizer<BaseGroupOptions>, stepSize: number, options: StepLROptions = {}) {
    super(optimizer, options.lastEpoch ?? -1);
    if (!(Number.isInteger(stepSize) && stepSize > 0))
      throw new GhostFlowError(`StepLR: stepSize must be a positive integer, got ${stepSize}`);
    this.stepSize = stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.step();
  }

  protected lrAt(baseLr: number, epoch: number): number {
    return baseLr * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

/** Options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingLROptions {
  /** Minimum learning rate (default 0). */
  etaMin?: number;
  /** Epoch to resume after (default -1). */
  lastEpoch?: number;
}

/**
 * torch.optim.lr_scheduler.CosineAnnealingLR (closed form, SGDR without restarts):
 * `lr = etaMin + (baseLr - etaMin) (1 + cos(pi epoch / tMax)) / 2`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Adam, CosineAnnealingLR, Linear } from '@ghostflow/nn';
 * const optimizer = new Adam(new Linear(2, 1).parameters(), { lr: 1e-3 });
 * const scheduler = new CosineAnnealingLR(optimizer, 100, { etaMin: 1e-5 });
 * for (let epoch = 0; epoch < 100; epoch++) scheduler.step(); // after each epoch's optimizer steps
 * ```
 */
export class CosineAnnealingLR extends LRScheduler {
  /** Half-period in epochs. */
  readonly tMax: number;
  /** Minimum learning rate. */
  readonly etaMin: number;

  /**
   * @param optimizer the optimizer (any kind)
   * @param tMax epochs to go from the base rate to `etaMin`
   */
  constructor(optimizer: Optimizer<BaseGroupOptions>, tMax: number, options: CosineAnnealingLROptions = {}) {
    super(optimizer, options.lastEpoch ?? -1);
    if (!(tMax > 0)) throw new GhostFlowError(`CosineAnnealingLR: tMax must be positive, got ${tMax}`);
    this.tMax = tMax;
    this.etaMin = options.etaMin ?? 0;
    this.step();
  }

  protected lrAt(baseLr: number, epoch: number): number {
    return this.etaMin + ((baseLr - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}

/** Options of {@link LinearLR}. */
export interface LinearLROptions {
  /** Factor at epoch 0 (default 1/3). */
  startFactor?: number;
  /** Factor from `totalIters` on (default 1). */
  endFactor?: number;
  /** Epochs of the ramp (default 5). */
  totalIters?: number;
  /** Epoch to resume after (default -1). */
  lastEpoch?: number;
}

/**
 * torch.optim.lr_scheduler.LinearLR (linear warm-up/decay of a factor):
 * `lr = baseLr (startFactor + (endFactor - startFactor) min(epoch, totalIters) / totalIters)`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { AdamW, Linear, LinearLR } from '@ghostflow/nn';
 * const optimizer = new AdamW(new Linear(2, 1).parameters(), { lr: 1e-3 });
 * // Warm-up: 10% of the rate at epoch 0, rising to the full rate by epoch 5.
 * const warmup = new LinearLR(optimizer, { startFactor: 0.1, endFactor: 1, totalIters: 5 });
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
  constructor(optimizer: Optimizer<BaseGroupOptions>, options: LinearLROptions = {}) {
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
    this.step();
  }

  protected lrAt(baseLr: number, epoch: number): number {
    // No ramp: PyTorch applies startFactor at epoch 0 and then leaves the lr alone, so it
    // stays at startFactor (the closed form would divide 0 by 0).
    if (this.totalIters === 0) return baseLr * this.startFactor;
    return baseLr * (this.startFactor + ((this.endFactor - this.startFactor) * Math.min(this.totalIters, epoch)) / this.totalIters);
  }
}
