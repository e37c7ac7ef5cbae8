/** Optimizers, gradient clipping and learning-rate schedulers (torch.optim). */
export { Optimizer, ParamState } from './optimizer.js';
export type { BaseGroupOptions, Closure, ParamGroup, ParamGroupInput, ParamsInput } from './optimizer.js';
export { disposeOptimizerStateDict } from './state-dict.js';
export type { OptimizerStateDict, ParamGroupState, ParamStateEntry } from './state-dict.js';
export { SGD } from './sgd.js';
export type { SGDOptions } from './sgd.js';
export { Adam, AdamW } from './adam.js';
export type { AdamOptions } from './adam.js';
export { RMSprop } from './rmsprop.js';
export type { RMSpropOptions } from './rmsprop.js';
export { Adagrad } from './adagrad.js';
export type { AdagradOptions } from './adagrad.js';
export { Adamax } from './adamax.js';
export type { AdamaxOptions } from './adamax.js';
export { NAdam } from './nadam.js';
export type { NAdamOptions } from './nadam.js';
export { RAdam } from './radam.js';
export type { RAdamOptions } from './radam.js';
export { LBFGS } from './lbfgs.js';
export type { LBFGSOptions } from './lbfgs.js';
export { clipGradNorm, clipGradValue } from './clip.js';
export { LRScheduler } from './lr-scheduler.js';
export type { SchedulerLike, SchedulerStateDict } from './lr-scheduler.js';
export {
  LambdaLR,
  MultiplicativeLR,
  StepLR,
  MultiStepLR,
  ExponentialLR,
  ConstantLR,
  LinearLR,
  PolynomialLR,
} from './factor-schedulers.js';
export type {
  SchedulerOptions,
  StepLROptions,
  MultiStepLROptions,
  ExponentialLROptions,
  ConstantLROptions,
  LinearLROptions,
  PolynomialLROptions,
} from './factor-schedulers.js';
export { CosineAnnealingLR, CosineAnnealingWarmRestarts } from './cosine-schedulers.js';
export type { CosineAnnealingLROptions, CosineAnnealingWarmRestartsOptions } from './cosine-schedulers.js';
export { OneCycleLR } from './one-cycle-lr.js';
export type { CyclicLROptions } from './cyclic-lr.js';
export { CyclicLR } from './cyclic-lr.js';
export type { OneCycleLROptions } from './one-cycle-lr.js';
export { SequentialLR, ChainedScheduler } from './composite-schedulers.js';
export { ReduceLROnPlateau } from './reduce-lr-on-plateau.js';
export type { ReduceLROnPlateauOptions } from './reduce-lr-on-plateau.js';
