/**
 * @ghostflow/nn/node: the parts of nn that need Node's file system, kept out of the main entry
 * so browser bundles never see `node:fs`.
 * @packageDocumentation
 */
export { createFileLogger } from './training/node-metrics.js';
export type { FileLoggerOptions } from './training/node-metrics.js';
export { save, load } from './serialization/node.js';
