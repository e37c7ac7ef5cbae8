/** Decoding: next-token filtering and sampling, generation and beam search through one step interface. */
export { filterLogits } from './filter.js';
export type { FilterLogitsOptions } from './filter.js';
export { greedyToken, sampleLogits } from './sample.js';
export type { SampleLogitsOptions } from './sample.js';
export type { DecodeStep, StepOutput, ReorderState } from './step.js';
export { generate } from './generate.js';
export type { GenerateOptions } from './generate.js';
export { beamSearch } from './beam-search.js';
export type { BeamSearchOptions, BeamHypothesis } from './beam-search.js';
