/**
 * `@ghostflow/nn/browser`: helpers for web apps. Weights on top of safetensors bytes
 * (IndexedDB, a file download, a URL fetched with progress) and training that keeps the
 * page responsive (a loop that yields between steps, or a Web Worker that streams
 * progress). No Node imports; the functions touch browser APIs only when called.
 * @packageDocumentation
 */
export {
  saveToIndexedDB,
  loadFromIndexedDB,
  listIndexedDB,
  deleteFromIndexedDB,
  download,
  loadFromUrl,
} from './web/weights.js';
export type {
  IndexedDBLocation,
  SaveToIndexedDBOptions,
  LoadFromIndexedDBOptions,
  LoadProgress,
  LoadFromUrlOptions,
} from './web/weights.js';
export { trainLoop, yieldToEventLoop } from './web/train-loop.js';
export type { TrainingProgress, TrainingResult, TrainLoopOptions } from './web/train-loop.js';
export { trainInWorker, serveTraining } from './web/worker.js';
export type { TrainingMessage, MessageEndpoint, TrainingJob, TrainInWorkerOptions, WorkerTrainingResult } from './web/worker.js';
