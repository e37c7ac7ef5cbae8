/** OneCycleLR (torch 1.13): the 1cycle policy, with momentum cycled inversely. */
import { GhostFlowError } from '@ghostflow/core';
import { LRScheduler } from './lr-scheduler.js';
import type { BaseGroupOptions, Optimizer } from './optimizer.js';

/** Options of {@link OneCycleLR}; give `totalSteps`, or `epochs` and `stepsPerEpoch`. */
export interface OneCycleLROptions {
  /** Steps in the cycle. */
  totalSteps?: number;
  /** Epochs (with `stepsPerEpoch`, when `totalSteps` is not given). */
  epochs?: number;
  /** Steps per epoch (with `epochs`). */
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the rate (default 0.3). */
  pctStart?: number;
  /** `'cos'` (default) or `'linear'` annealing. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle `momentum` (SGD, RMSprop) or `betas[0]` (Adam family) inversely to the rate (default true). */
  cycleMomentum?: boolean;
  /** Lower momentum boundary (default 0.85; one value or one per group). */
  baseMomentum?: number | number[];
  /** Upper momentum boundary (default 0.95; one value or one per group). */
  maxMomentum?: number | number[];
  /** `initialLr = maxLr / divFactor` (default 25). */
  divFactor?: number;
  /** `minLr = initialLr / finalDivFactor` (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, down to initialLr, down to minLr) as the paper, instead of fastai's two (default false). */
  threePhase?: boolean;
  /** Batch to resume after (default -1). */
  lastEpoch?: number;
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

type Group = Record<string, unknown> & { lr: number };

/**
 * torch.optim.lr_scheduler.OneCycleLR: the rate rises from `maxLr / divFactor` to `maxLr`
 * over `pctStart` of the cycle and anneals to `initialLr / finalDivFactor`; step it after
 * every batch. Sets `initialLr`, `maxLr`, `minLr` (and `maxMomentum`, `baseMomentum`) on the
 * groups, as PyTorch.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Linear, OneCycleLR, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * const batches = 100; // batches per epoch
 * const sched = new OneCycleLR(opt, 0.01, { epochs: 10, stepsPerEpoch: batches });
 * ```
 */
export class OneCycleLR extends LRScheduler {
  /** Steps in the cycle. */
  readonly totalSteps: number;
  /** Annealing strategy. */
  readonly annealStrategy: 'cos' | 'linear';
  /** Whether momentum is cycled. */
  readonly cycleMomentum: boolean;
  /** Whether the momentum is `betas[0]`. */
  readonly useBeta1: boolean;
  private readonly schedulePhases: Phase[];

  /**
   * @param optimizer the optimizer (any kind)
   * @param maxLr peak rate (one value or one per group)
   */
  constructor(optimizer: Optimizer<BaseGroupOptions>, maxLr: number | number[], options: OneCycleLROptions = {}) {
    const lastEpoch = options.lastEpoch ?? -1;
    const groups = optimizer.paramGroups as unknown as Group[];
    const perGroup = (name: string, v: number | number[]): number[] => {
      if (Array.isArray(v)) {
        if (v.length !== groups.length)
          throw new GhostFlowError(`OneCycleLR: expected ${groups.length} values for ${name}, got ${v.length}`);
        return v;
      }
      return groups.map(() => v);
    };
    let total: number;
    if (options.totalSteps !== undefined) {
      if (!(Number.isInteger(options.totalSteps) && options.totalSteps > 0))
        throw new GhostFlowError(`OneCycleLR: expected a positive integer totalSteps, got ${options.totalSteps}`);
      total = options.totalSteps;
    } else if (options.epochs !== undefined || options.stepsPerEpoch !== undefined) {
      const { epochs, stepsPerEpoch } = options;
      if (!(Number.isInteger(epochs) && (epochs as number) > 0))
        throw new GhostFlowError(`OneCycleLR: expected a positive integer epochs, got ${epochs}`);
      if (!(Number.isInteger(stepsPerEpoch) && (stepsPerEpoch as number) > 0))
        throw new GhostFlowError(`OneCycleLR: expected a positive integer stepsPerEpoch, got ${stepsPerEpoch}`);
      total = (epochs as number) * (stepsPerEpoch as number);
    } else throw new GhostFlowError('OneCycleLR: you must define either totalSteps OR (epochs AND stepsPerEpoch)');
    const pct = options.pctStart ?? 0.3;
    if (!(pct >= 0 && pct <= 1)) throw new GhostFlowError(`OneCycleLR: expected pctStart between 0 and 1, got ${pct}`);
    const anneal = options.annealStrategy ?? 'cos';
    if (anneal !== 'cos' && anneal !== 'linear')
      throw new GhostFlowError(`OneCycleLR: annealStrategy must be 'cos' or 'linear', got '${String(anneal)}'`);
    const divFactor = options.divFactor ?? 25;
    const finalDivFactor = options.finalDivFactor ?? 1e4;
    const maxLrs = perGroup('maxLr', maxLr);
    if (lastEpoch === -1)
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i] / divFactor;
        g.maxLr = maxLrs[i];
        g.minLr = (g.initialLr as number) / finalDivFactor;
      });
    const cycle = options.cycleMomentum ?? true;
    let useBeta1 = false;
    if (cycle) {
      const defaults = optimizer.defaults as unknown as Record<string, unknown>;
      if (!('momentum' in defaults) && !('betas' in defaults))
        throw new GhostFlowError('OneCycleLR: optimizer must support momentum (momentum or betas) with the cycleMomentum option enabled');
      useBeta1 = 'betas' in defaults;
      const maxM = perGroup('maxMomentum', options.maxMomentum ?? 0.95);
      const baseM = perGroup('baseMomentum', options.baseMomentum ?? 0.85);
      if (lastEpoch === -1)
        groups.forEach((g, i) => {
          if (useBeta1) g.betas = [maxM[i], ...(g.betas as number[]).slice(1)];
          else g.momentum = maxM[i];
          g.maxMomentum = maxM[i];
          g.baseMomentum = baseM[i];
        });
    }
    super(optimizer, lastEpoch);
    this.totalSteps = total;
    this.annealStrategy = anneal;
    this.cycleMomentum = cycle;
    this.useBeta1 = useBeta1;
    this.schedulePhases = options.threePhase
      ? [
          { endStep: pct * total - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: 2 * pct * total - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
          { endStep: total - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
        ]
      : [
          { endStep: pct * total - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: total - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        ];
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps)
      throw new GhostFlowError(`OneCycleLR: tried to step ${stepNum + 1} times; the specified number of total steps is ${this.totalSteps}`);
    return (this.optimizer.paramGroups as unknown as Group[]).map((g) => {
      let start = 0;
      let lr = 0;
      let momentum = 0;
      for (let i = 0; i < this.schedulePhases.length; i++) {
        const phase = this.schedulePhases[i];
        if (stepNum <= phase.endStep || i === this.schedulePhases.length - 1) {
          const pct = (stepNum - start) / (phase.endStep - start);
          lr = this.anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct);
          if (this.cycleMomentum) momentum = this.anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct);
          break;
        }
        start = phase.endStep;
      }
      if (this.cycleMomentum) {
        if (this.useBeta1) g.betas = [momentum, ...(g.betas as number[]).slice(1)];
        else g.momentum = momentum;
      }
      return lr;
    });
  }
}
