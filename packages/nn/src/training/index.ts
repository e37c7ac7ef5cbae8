/** Training UX: a progress bar and a metrics logger (JSON lines, TensorBoard event files). */
export { ProgressBar, formatDuration } from './progress.js';
export type { ProgressMode, ProgressOptions, ProgressState } from './progress.js';
export { MetricsLogger, jsonLinesSink, tfeventsSink, memorySink } from './metrics.js';
export type { MetricsRecord, MetricsSink, MetricsLoggerOptions } from './metrics.js';
export { crc32c, maskedCrc32c } from './crc32c.js';
export { encodeEvent, frameRecord, fileVersionRecord, scalarsRecord, TFEVENTS_FILE_VERSION } from './tfevents.js';
export type { TfEvent } from './tfevents.js';
