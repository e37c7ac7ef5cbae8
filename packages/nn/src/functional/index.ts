/**
 * The functional API, like `torch.nn.functional`: activations, dropout, losses and convolutions as plain
 * functions. Exported from `@ghostflow/nn` as the `functional` namespace (alias `F`).
 */
export * from './activation.js';
export * from './loss.js';
export * from './conv.js';
export { embedding } from '../layers/embedding.js';
export * from './distance.js';
export * from './ctc.js';
export { rmsNorm } from '../layers/rms-norm.js';
