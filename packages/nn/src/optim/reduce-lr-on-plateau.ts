/** ReduceLROnPlateau (torch 1.13): lowers the rate when a metric stops improving. */
import { GhostFlowError } from '@ghostflow/core';
import { type SchedulerLike, type SchedulerStateDict, assignFields, fieldsOf } from './lr-scheduler.js';
import type { BaseGroupOptions, Optimizer } from './optimizer.js';

/** Options of {@link ReduceLROnPlateau}. */
export interface ReduceLROnPlateauOptions {
  /** `'min'` (default): the metric should decrease; `'max'`: increase. */
  mode?: 'min' | 'max';
  /** `newLr = lr * factor` (default 0.1; must be < 1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Least change that counts as an improvement (default 1e-4). */
  threshold?: number;
  /** `'rel'` (default): relative to the best; `'abs'`: absolute. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  /** Lower bound of the rate (default 0; one value or one per group). */
  minLr?: number | number[];
  /** Reductions smaller than this are skipped (default 1e-8). */
  eps?: number;
}

/**
 * torch.optim.lr_scheduler.ReduceLROnPlateau: `step(metric)` once per epoch with the
 * validation metric (a number: read a loss tensor with `await loss.item()` first).
 *
 * @example
 * ```ts
 * import type { Tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Linear, ReduceLROnPlateau, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * declare const valLoss: Tensor; // this epoch's validation loss
 * const sched = new ReduceLROnPlateau(opt, { patience: 3 });
 * sched.step(await valLoss.item());
 * ```
 */
export class ReduceLROnPlateau implements SchedulerLike {
  /** The scheduled optimizer. */
  readonly optimizer: Optimizer<BaseGroupOptions>;
  factor: number;
  minLrs: number[];
  patience: number;
  cooldown: number;
  cooldownCounter = 0;
  mode: 'min' | 'max';
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  /** Best metric so far (±Infinity before the first). */
  best: number;
  numBadEpochs = 0;
  modeWorse: number;
  eps: number;
  /** Number of `step` calls. */
  lastEpoch = 0;
  private lastLr: number[];

  constructor(optimizer: Optimizer<BaseGroupOptions>, options: ReduceLROnPlateauOptions = {}) {
    this.factor = options.factor ?? 0.1;
    if (!(this.factor < 1)) throw new GhostFlowError(`ReduceLROnPlateau: factor should be < 1.0, got ${this.factor}`);
    this.optimizer = optimizer;
    const minLr = options.minLr ?? 0;
    if (Array.isArray(minLr)) {
      if (minLr.length !== optimizer.paramGroups.length)
        throw new GhostFlowError(`ReduceLROnPlateau: expected ${optimizer.paramGroups.length} minLrs, got ${minLr.length}`);
      this.minLrs = [...minLr];
    } else this.minLrs = optimizer.paramGroups.map(() => minLr);
    this.patience = options.patience ?? 10;
    this.cooldown = options.cooldown ?? 0;
    this.mode = options.mode ?? 'min';
    this.threshold = options.threshold ?? 1e-4;
    this.thresholdMode = options.thresholdMode ?? 'rel';
    this.eps = options.eps ?? 1e-8;
    this.modeWorse = this.initIsBetter();
    this.best = this.modeWorse;
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  private initIsBetter(): number {
    if (this.mode !== 'min' && this.mode !== 'max')
      throw new GhostFlowError(`ReduceLROnPlateau: mode '${String(this.mode)}' is unknown (expected 'min' or 'max')`);
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs')
      throw new GhostFlowError(`ReduceLROnPlateau: threshold mode '${String(this.thresholdMode)}' is unknown (expected 'rel' or 'abs')`);
    return this.mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  }

  private isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return a < best * (1 - this.threshold);
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.thresholdMode === 'rel') return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  /** Records one epoch's metric and reduces the rates after `patience` epochs without improvement. */
  step(metric: number, epoch?: number): void {
    if (typeof metric !== 'number')
      throw new GhostFlowError(
        `ReduceLROnPlateau.step: expected the metric as a number (read a tensor with await t.item()), got ${typeof metric}`,
      );
    const current = metric;
    this.lastEpoch = epoch ?? this.lastEpoch + 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else this.numBadEpochs += 1;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const newLr = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The rates after the last `step`, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** The scheduler's state (its fields but the optimizer). Infinite `best` stays a number: checkpoints encode it. */
  stateDict(): SchedulerStateDict {
    return fieldsOf(this);
  }

  /** Restores a state from {@link stateDict}. */
  loadStateDict(state: SchedulerStateDict): void {
    assignFields('ReduceLROnPlateau', this, state);
    this.modeWorse = this.initIsBetter();
  }
}
