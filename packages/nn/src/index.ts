/**
 * @ghostflow/nn: modules, layers, recurrent models, losses, optimizers and serialization,
 * with PyTorch's names and numbers. Uses only @ghostflow/core's public API.
 * @packageDocumentation
 */
export { Module } from './module.js';
export type { StateDict, LoadStateDictResult } from './module.js';
export { Sequential, ModuleList } from './containers.js';
export type { UnaryModule } from './containers.js';
export * as init from './init.js';
