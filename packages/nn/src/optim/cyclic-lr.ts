/** CyclicLR (torch 1.13): cyclical learning rates between two bounds (Smith 2017). */
import { GhostFlowError } from '@ghostflow/core';
import { LRScheduler, type SchedulerStateDict, assignFields, fieldsOf } from './lr-scheduler.js';
import type { BaseGroupOptions, Optimizer } from './optimizer.js';

/** Options of {@link CyclicLR}. */
export interface CyclicLROptions {
  /** Steps of the rising half-cycle (default 2000). */
  stepSizeUp?: number;
  /** Steps of the falling half-cycle (default `stepSizeUp`). */
  stepSizeDown?: number;
  /** `'triangular'` (default), `'triangular2'` (amplitude halves each cycle) or `'exp_range'` (amplitude `gamma^iteration`). */
  mode?: 'triangular' | 'triangular2' | 'exp_range';
  /** Base of `'exp_range'` (default 1). */
  gamma?: number;
  /** A custom amplitude scale (replaces `mode`); not saved in `stateDict()`. */
  scaleFn?: (x: number) => number;
  /** What `scaleFn` receives: the cycle number (`'cycle'`, default) or the iteration. */
  scaleMode?: 'cycle' | 'iterations';
  /** Cycle `momentum` inversely to the rate (default true; the optimizer needs a `momentum` option). */
  cycleMomentum?: boolean;
  /** Lower momentum bound (default 0.8; one value or one per group). */
  baseMomentum?: number | number[];
  /** Upper momentum bound (default 0.9; one value or one per group). */
  maxMomentum?: number | number[];
  /** Step to resume after (default -1). */
  lastEpoch?: number;
}

type Group = Record<string, unknown> & { lr: number };

/**
 * torch.optim.lr_scheduler.CyclicLR: the rate moves linearly between `baseLr` and `maxLr`
 * (up in `stepSizeUp` steps, down in `stepSizeDown`), the amplitude scaled by the mode; step
 * it after every batch.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { CyclicLR, Linear, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
 * const sched = new CyclicLR(opt, 0.001, 0.1, { stepSizeUp: 500 });
 * ```
 */
export class CyclicLR extends LRScheduler {
  /** Upper rate bound per group. */
  readonly maxLrs: number[];
  /** Steps in a cycle. */
  readonly totalSize: number;
  /** Fraction of the cycle spent rising. */
  readonly stepRatio: number;
  /** Amplitude mode. */
  readonly mode: string;
  /** Base of `'exp_range'`. */
  readonly gamma: number;
  /** What the scale function receives. */
  readonly scaleMode: 'cycle' | 'iterations';
  /** Whether momentum is cycled. */
  readonly cycleMomentum: boolean;
  /** Lower momentum bound per group. */
  readonly baseMomentums: number[] = [];
  /** Upper momentum bound per group. */
  readonly maxMomentums: number[] = [];
  private readonly scaleFn: (x: number) => number;

  /**
   * @param optimizer the optimizer (any kind; with `cycleMomentum`, one with a `momentum` option)
   * @param baseLr lower rate bound (one value or one per group); also the starting rate
   * @param maxLr upper rate bound (one value or one per group)
   */
  constructor(optimizer: Optimizer<BaseGroupOptions>, baseLr: number | number[], maxLr: number | number[], options: CyclicLROptions = {}) {
    const lastEpoch = options.lastEpoch ?? -1;
    const groups = optimizer.paramGroups as unknown as Group[];
    const perGroup = (name: string, v: number | number[]): number[] => {
      if (Array.isArray(v)) {
        if (v.length !== groups.length) throw new GhostFlowError(`CyclicLR: expected ${groups.length} values for ${name}, got ${v.length}`);
        return [...v];
      }
      return groups.map(() => v);
    };
    const baseLrs = perGroup('baseLr', baseLr);
    if (lastEpoch === -1)
      groups.forEach((g, i) => {
        g.lr = baseLrs[i];
      });
    const maxLrs = perGroup('maxLr', maxLr);
    const up = options.stepSizeUp ?? 2000;
    const down = options.stepSizeDown ?? up;
    if (!(up > 0) || !(down >= 0)) throw new GhostFlowError(`CyclicLR: step sizes must be positive, got up ${up}, down ${down}`);
    const mode = options.mode ?? 'triangular';
    if (!['triangular', 'triangular2', 'exp_range'].includes(mode) && !options.scaleFn)
      throw new GhostFlowError(`CyclicLR: mode '${String(mode)}' is invalid and scaleFn is not given`);
    const gamma = options.gamma ?? 1;
    const cycle = options.cycleMomentum ?? true;
    let baseMomentums: number[] = [];
    let maxMomentums: number[] = [];
    if (cycle) {
      if (!('momentum' in (optimizer.defaults as object)))
        throw new GhostFlowError('CyclicLR: optimizer must support momentum with the cycleMomentum option enabled');
      const bm = perGroup('baseMomentum', options.baseMomentum ?? 0.8);
      if (lastEpoch === -1)
        groups.forEach((g, i) => {
          g.momentum = bm[i];
        });
      baseMomentums = groups.map((g) => g.momentum as number);
      maxMomentums = perGroup('maxMomentum', options.maxMomentum ?? 0.9);
    }
    super(optimizer, lastEpoch);
    this.maxLrs = maxLrs;
    this.totalSize = up + down;
    this.stepRatio = up / this.totalSize;
    this.mode = mode;
    this.gamma = gamma;
    if (options.scaleFn) {
      this.scaleFn = options.scaleFn;
      this.scaleMode = options.scaleMode ?? 'cycle';
    } else if (mode === 'triangular') {
      this.scaleFn = () => 1;
      this.scaleMode = 'cycle';
    } else if (mode === 'triangular2') {
      this.scaleFn = (x) => 1 / 2 ** (x - 1);
      this.scaleMode = 'cycle';
    } else {
      this.scaleFn = (x) => this.gamma ** x;
      this.scaleMode = 'iterations';
    }
    this.cycleMomentum = cycle;
    this.baseMomentums = baseMomentums;
    this.maxMomentums = maxMomentums;
    this.initialStep();
    this.baseLrs = baseLrs;
  }

  protected getLr(): number[] {
    const cycle = Math.floor(1 + this.lastEpoch / this.totalSize);
    const x = 1 + this.lastEpoch / this.totalSize - cycle;
    const scaleFactor = x <= this.stepRatio ? x / this.stepRatio : (x - 1) / (this.stepRatio - 1);
    const scale = this.scaleFn(this.scaleMode === 'cycle' ? cycle : this.lastEpoch);
    const lrs = this.baseLrs.map((base, i) => base + (this.maxLrs[i] - base) * scaleFactor * scale);
    if (this.cycleMomentum)
      (this.optimizer.paramGroups as unknown as Group[]).forEach((g, i) => {
        g.momentum = this.maxMomentums[i] - (this.maxMomentums[i] - this.baseMomentums[i]) * scaleFactor * scale;
      });
    return lrs;
  }

  /** The scheduler's fields (not a custom `scaleFn`). */
  override stateDict(): SchedulerStateDict {
    return fieldsOf(this, ['scaleFn']);
  }

  override loadStateDict(state: SchedulerStateDict): void {
    assignFields('CyclicLR', this, state, ['scaleFn']);
  }
}
