/** Cosine schedules: CosineAnnealingLR and CosineAnnealingWarmRestarts (SGDR), torch 1.13 forms. */
import { GhostFlowError } from '@ghostflow/core';
import type { SchedulerOptions } from './factor-schedulers.js';
import { LRScheduler } from './lr-scheduler.js';
import type { BaseGroupOptions, Optimizer } from './optimizer.js';

/** Options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingLROptions extends SchedulerOptions {
  /** Minimum learning rate (default 0). */
  etaMin?: number;
}

/**
 * torch.optim.lr_scheduler.CosineAnnealingLR (SGDR without restarts), PyTorch's recursive
 * form; `step(epoch)` uses the closed form
 * `lr = etaMin + (baseLr - etaMin) (1 + cos(pi epoch / tMax)) / 2`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { CosineAnnealingLR, Linear, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const sched = new CosineAnnealingLR(opt, 100, { etaMin: 1e-5 });
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
    this.initialStep();
  }

  protected getLr(): number[] {
    const lrs = this.groupLrs();
    const e = this.lastEpoch;
    if (e === 0) return lrs;
    if ((e - 1 - this.tMax) % (2 * this.tMax) === 0)
      return lrs.map((lr, i) => lr + ((this.baseLrs[i] - this.etaMin) * (1 - Math.cos(Math.PI / this.tMax))) / 2);
    return lrs.map(
      (lr) =>
        ((1 + Math.cos((Math.PI * e) / this.tMax)) / (1 + Math.cos((Math.PI * (e - 1)) / this.tMax))) * (lr - this.etaMin) + this.etaMin,
    );
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2);
  }
}

/** Options of {@link CosineAnnealingWarmRestarts}. */
export interface CosineAnnealingWarmRestartsOptions extends SchedulerOptions {
  /** Factor by which the period grows after each restart (integer >= 1, default 1). */
  tMult?: number;
  /** Minimum learning rate (default 0). */
  etaMin?: number;
}

/**
 * torch.optim.lr_scheduler.CosineAnnealingWarmRestarts (SGDR): cosine annealing from the base
 * rate to `etaMin` over `tI` epochs, then a restart with `tI *= tMult`. `step(epoch)` accepts
 * fractional epochs (`epoch + i / itersPerEpoch`), as PyTorch's.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { CosineAnnealingWarmRestarts, Linear, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const sched = new CosineAnnealingWarmRestarts(opt, 10, { tMult: 2 });
 * ```
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  /** Epochs of the first period. */
  readonly t0: number;
  /** Current period length. */
  tI: number;
  /** Period growth factor. */
  readonly tMult: number;
  /** Minimum learning rate. */
  readonly etaMin: number;
  /** Epochs since the last restart. */
  tCur: number;

  /**
   * @param optimizer the optimizer (any kind)
   * @param t0 epochs until the first restart (positive integer)
   */
  constructor(optimizer: Optimizer<BaseGroupOptions>, t0: number, options: CosineAnnealingWarmRestartsOptions = {}) {
    const lastEpoch = options.lastEpoch ?? -1;
    super(optimizer, lastEpoch);
    const tMult = options.tMult ?? 1;
    if (!(Number.isInteger(t0) && t0 > 0))
      throw new GhostFlowError(`CosineAnnealingWarmRestarts: expected a positive integer t0, got ${t0}`);
    if (!(Number.isInteger(tMult) && tMult >= 1))
      throw new GhostFlowError(`CosineAnnealingWarmRestarts: expected an integer tMult >= 1, got ${tMult}`);
    this.t0 = t0;
    this.tI = t0;
    this.tMult = tMult;
    this.etaMin = options.etaMin ?? 0;
    this.tCur = lastEpoch;
    this.initialStep();
  }

  protected getLr(): number[] {
    return this.baseLrs.map((base) => this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.tCur) / this.tI))) / 2);
  }

  /** Advances one epoch, or jumps to a (possibly fractional) `epoch`. */
  override step(epoch?: number): void {
    this.stepCount += 1;
    let e = epoch;
    if (e === undefined && this.lastEpoch < 0) e = 0;
    if (e === undefined) {
      e = this.lastEpoch + 1;
      this.tCur += 1;
      if (this.tCur >= this.tI) {
        this.tCur -= this.tI;
        this.tI *= this.tMult;
      }
    } else {
      if (e < 0) throw new GhostFlowError(`CosineAnnealingWarmRestarts: expected a non-negative epoch, got ${e}`);
      if (e >= this.t0) {
        if (this.tMult === 1) this.tCur = e % this.t0;
        else {
          const n = Math.trunc(Math.log((e / this.t0) * (this.tMult - 1) + 1) / Math.log(this.tMult));
          this.tCur = e - (this.t0 * (this.tMult ** n - 1)) / (this.tMult - 1);
          this.tI = this.t0 * this.tMult ** n;
        }
      } else {
        this.tI = this.t0;
        this.tCur = e;
      }
    }
    this.lastEpoch = Math.floor(e);
    const values = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = values[i];
    });
    this.lastLr = this.groupLrs();
  }
}
