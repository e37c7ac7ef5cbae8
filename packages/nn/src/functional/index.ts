/**
 * The functional API, like `torch.nn.functional`: activations, dropout and losses as plain
 * functions. Exported from `@ghostflow/nn` as the `functional` namespace (alias `F`).
 */
export * from './activation.js';
export * from './loss.js';
export { embedding } from '../layers/embedding.js';
