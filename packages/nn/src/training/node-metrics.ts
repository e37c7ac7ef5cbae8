/**
 * Node-only: metrics written to files (`metrics.jsonl` and a TensorBoard event file). Kept apart
 * from the pure sinks so browser bundles of `@ghostflow/nn` never see `node:fs`; it is exported
 * from the `@ghostflow/nn/node` entry.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MetricsLogger, type MetricsLoggerOptions, type MetricsSink, jsonLinesSink, tfeventsSink } from './metrics.js';

/** Options of `createFileLogger`. */
export interface FileLoggerOptions extends MetricsLoggerOptions {
  /** Write `metrics.jsonl` (default true). */
  jsonl?: boolean;
  /** Write a TensorBoard event file (default true). */
  tensorboard?: boolean;
  /** Echo each record to this sink as well (e.g. a `memorySink()`). */
  extra?: MetricsSink[];
}

/** Appends to `path`, writing each record through at once so a live `tensorboard` sees it. */
function fileWriter(path: string): { write: (data: string | Uint8Array) => void; close: () => void } {
  const fd = openSync(path, 'a');
  let open = true;
  return {
    write: (data) => {
      if (typeof data === 'string') writeSync(fd, data);
      else writeSync(fd, data);
    },
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/**
 * A `MetricsLogger` writing under `dir` (created if missing): `metrics.jsonl` and
 * `events.out.tfevents.<seconds>.<host>.<pid>.0`, the name TensorBoard looks for.
 *
 * @example
 * ```ts
 * import { createFileLogger } from '@ghostflow/nn/node';
 * const logger = createFileLogger('runs/lstm');
 * for (let step = 1; step <= 3; step++) logger.log(step, { loss: 1 / step });
 * logger.close(); // then: tensorboard --logdir runs
 * ```
 */
export function createFileLogger(dir: string, options: FileLoggerOptions = {}): MetricsLogger & { readonly files: string[] } {
  mkdirSync(dir, { recursive: true });
  const sinks: MetricsSink[] = [];
  const files: string[] = [];
  if (options.jsonl ?? true) {
    const path = join(dir, 'metrics.jsonl');
    const f = fileWriter(path);
    files.push(path);
    sinks.push(jsonLinesSink(f.write, f.close));
  }
  if (options.tensorboard ?? true) {
    const path = join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}.${process.pid}.0`);
    const f = fileWriter(path);
    files.push(path);
    sinks.push(tfeventsSink(f.write, f.close));
  }
  sinks.push(...(options.extra ?? []));
  return Object.assign(new MetricsLogger(sinks, options), { files });
}
