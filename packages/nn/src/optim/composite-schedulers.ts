/** Schedulers made of schedulers: SequentialLR (one after another) and ChainedScheduler (all at once). */
import { GhostFlowError } from '@ghostflow/core';
import { LRScheduler, type SchedulerStateDict, assignFields, fieldsOf } from './lr-scheduler.js';
import type { BaseGroupOptions, Optimizer } from './optimizer.js';

function nested(who: string, schedulers: readonly LRScheduler[], state: SchedulerStateDict): SchedulerStateDict[] {
  const list = state.schedulers;
  if (!Array.isArray(list) || list.length !== schedulers.length)
    throw new GhostFlowError(
      `${who}.loadStateDict: expected ${schedulers.length} scheduler states, got ${Array.isArray(list) ? list.length : typeof list}`,
    );
  return list as SchedulerStateDict[];
}

/**
 * torch.optim.lr_scheduler.SequentialLR: runs `schedulers[i]` between `milestones[i - 1]` and
 * `milestones[i]` (e.g. a warm-up, then cosine decay); at a milestone the next scheduler
 * restarts from epoch 0.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { CosineAnnealingLR, Linear, LinearLR, SequentialLR, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const warmup = new LinearLR(opt, { startFactor: 0.1, totalIters: 5 });
 * const decay = new CosineAnnealingLR(opt, 95);
 * const sched = new SequentialLR(opt, [warmup, decay], [5]);
 * ```
 */
export class SequentialLR extends LRScheduler {
  /** The schedulers, in order. */
  readonly schedulers: LRScheduler[];
  /** The epochs at which the next scheduler takes over. */
  readonly milestones: number[];

  constructor(
    optimizer: Optimizer<BaseGroupOptions>,
    schedulers: readonly LRScheduler[],
    milestones: readonly number[],
    options: { lastEpoch?: number } = {},
  ) {
    if (schedulers.length < 1) throw new GhostFlowError('SequentialLR: expected at least one scheduler');
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer)
        throw new GhostFlowError(
          `SequentialLR: expects all schedulers to belong to the same optimizer, but the scheduler at index ${i} belongs to another one`,
        );
    });
    if (milestones.length !== schedulers.length - 1)
      throw new GhostFlowError(
        `SequentialLR: expects one more scheduler than milestones, got ${schedulers.length} schedulers and ${milestones.length} milestones`,
      );
    super(optimizer, -1);
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    this.lastEpoch = (options.lastEpoch ?? -1) + 1;
    // Undo the construction step of every scheduler, then make only the first one's.
    for (const g of optimizer.paramGroups) g.lr = g.initialLr as number;
    for (const s of this.schedulers) s.lastEpoch -= 1;
    (this.schedulers[0] as unknown as { initialStep(): void }).initialStep();
    this.lastLr = this.schedulers[0].getLastLr();
  }

  protected getLr(): number[] {
    return this.groupLrs();
  }

  /** Steps the scheduler whose interval holds the next epoch (restarting it at its milestone). */
  override step(): void {
    this.lastEpoch += 1;
    const idx = this.milestones.filter((m) => m <= this.lastEpoch).length;
    const scheduler = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) scheduler.step(0);
    else scheduler.step();
    this.lastLr = scheduler.getLastLr();
  }

  /** Its own fields plus `schedulers`: each scheduler's state. */
  override stateDict(): SchedulerStateDict {
    return { ...fieldsOf(this, ['schedulers']), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(state: SchedulerStateDict): void {
    const list = nested('SequentialLR', this.schedulers, state);
    assignFields('SequentialLR', this, state, ['schedulers']);
    this.schedulers.forEach((s, i) => s.loadStateDict(list[i]));
  }
}

/**
 * torch.optim.lr_scheduler.ChainedScheduler: steps every scheduler at each `step()`, so their
 * chainable forms multiply (e.g. a constant warm-up factor on an exponential decay).
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { ChainedScheduler, ConstantLR, ExponentialLR, Linear, SGD } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const sched = new ChainedScheduler([new ConstantLR(opt, { factor: 0.1, totalIters: 2 }), new ExponentialLR(opt, 0.9)]);
 * ```
 */
export class ChainedScheduler extends LRScheduler {
  /** The chained schedulers. */
  readonly schedulers: LRScheduler[];

  constructor(schedulers: readonly LRScheduler[]) {
    if (schedulers.length < 1) throw new GhostFlowError('ChainedScheduler: expected at least one scheduler');
    schedulers.forEach((s, i) => {
      if (s.optimizer !== schedulers[0].optimizer)
        throw new GhostFlowError(
          `ChainedScheduler: expects all schedulers to belong to the same optimizer, but schedulers 0 and ${i} differ`,
        );
    });
    super(schedulers[0].optimizer, -1);
    this.schedulers = [...schedulers];
    this.lastLr = this.groupLrs();
  }

  protected getLr(): number[] {
    return this.groupLrs();
  }

  /** Steps every scheduler in order. */
  override step(): void {
    for (const s of this.schedulers) s.step();
    this.lastLr = this.groupLrs();
  }

  /** Its own fields plus `schedulers`: each scheduler's state. */
  override stateDict(): SchedulerStateDict {
    return { ...fieldsOf(this, ['schedulers']), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(state: SchedulerStateDict): void {
    const list = nested('ChainedScheduler', this.schedulers, state);
    assignFields('ChainedScheduler', this, state, ['schedulers']);
    this.schedulers.forEach((s, i) => s.loadStateDict(list[i]));
  }
}
