/**
 * `@ghostflow/nn/node`: the Node-only part of nn, kept out of the main entry so that
 * browser bundles never meet `node:` imports: safetensors files, training checkpoints and
 * metric logs (JSON lines, TensorBoard event files) on disk.
 * ```ts
 * import { save, load } from '@ghostflow/nn/node';
 * await save('model.safetensors', model);
 * model.loadStateDict(await load('model.safetensors'));
 * ```
 * @packageDocumentation
 */
export { save, load } from './serialization/node.js';
export { saveCheckpoint, loadCheckpoint } from './serialization/checkpoint-node.js';
export { createFileLogger } from './training/node-metrics.js';
export type { FileLoggerOptions } from './training/node-metrics.js';
