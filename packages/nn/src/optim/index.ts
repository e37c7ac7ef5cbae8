/** Optimizers, gradient clipping and learning-rate schedulers (torch.optim). */
export { Optimizer, ParamState } from './optimizer.js';
export type { BaseGroupOptions, ParamGroup, ParamGroupInput, ParamsInput } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDOptions } from './sgd.js';
export { Adam, AdamW } from './adam.js';
export type { AdamOptions } from './adam.js';
export { RMSprop } from './rmsprop.js';
export type { RMSpropOptions } from './rmsprop.js';
export { clipGradNorm, clipGradValue } from './clip.js';
export { LRScheduler, StepLR, CosineAnnealingLR, LinearLR } from './lr-scheduler.js';
export type { StepLROptions, CosineAnnealingLROptions, LinearLROptions } from './lr-scheduler.js';
