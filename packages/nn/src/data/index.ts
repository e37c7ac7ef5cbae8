/** Data loading (torch.utils.data): datasets, samplers, collate functions, DataLoader, randomSplit. */
export { Dataset, IterableDataset } from './dataset.js';
export { TensorDataset } from './tensor-dataset.js';
export { Subset } from './subset.js';
export { ConcatDataset } from './concat-dataset.js';
export { SequentialSampler, RandomSampler, BatchSampler, permutation } from './sampler.js';
export type { Sampler, BatchIndexSampler, RandomSamplerOptions } from './sampler.js';
export { defaultCollate, padCollate, packCollate } from './collate.js';
export type { CollateFn, Collated, PadCollated, PackCollated, PaddedBatch, PadCollateOptions } from './collate.js';
export { DataLoader } from './dataloader.js';
export type { DataLoaderOptions } from './dataloader.js';
export { randomSplit } from './random-split.js';
export type { RandomSplitOptions } from './random-split.js';
