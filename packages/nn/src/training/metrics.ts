/**
 * A metrics logger: scalars by step, fanned out to sinks (JSON lines, TensorBoard event files,
 * memory, a callback). The sinks here take a `write` function, so they run anywhere; the Node
 * file writers are in `node-metrics.ts` (the `@ghostflow/nn/node` entry).
 */
import { GhostFlowError } from '@ghostflow/core';
import { fileVersionRecord, scalarsRecord } from './tfevents.js';

/** One logged point: a step, its wall-clock time (seconds since the epoch) and named scalars. */
export interface MetricsRecord {
  step: number;
  wallTime: number;
  values: Readonly<Record<string, number>>;
}

/** Where records go. `close` flushes and releases whatever the sink holds. */
export interface MetricsSink {
  write(record: MetricsRecord): void;
  close?(): void;
}

/** Options of `MetricsLogger`. */
export interface MetricsLoggerOptions {
  /** Seconds since the epoch for a record (default `Date.now() / 1000`); tests pin it. */
  clock?: () => number;
}

/**
 * Logs scalar metrics by step to one or more sinks.
 *
 * @example
 * ```ts
 * import { MetricsLogger, jsonLinesSink, memorySink } from '@ghostflow/nn';
 * const history = memorySink();
 * const lines: string[] = [];
 * const logger = new MetricsLogger([history, jsonLinesSink((line) => lines.push(line))]);
 * logger.log(1, { loss: 0.9, lr: 0.01 });
 * logger.log(2, { loss: 0.7 });
 * logger.close();
 * console.log(history.records.length, lines[0]); // 2 {"step":1,"wall_time":...,"loss":0.9,"lr":0.01}
 * ```
 */
export class MetricsLogger {
  private closed = false;
  private readonly clock: () => number;

  constructor(
    private readonly sinks: readonly MetricsSink[],
    options: MetricsLoggerOptions = {},
  ) {
    this.clock = options.clock ?? (() => Date.now() / 1000);
  }

  /** Records `values` at `step` in every sink. Non-finite values are kept (NaN shows a diverged run). */
  log(step: number, values: Readonly<Record<string, number>>): void {
    if (this.closed) throw new GhostFlowError('MetricsLogger.log: the logger is closed');
    if (!Number.isSafeInteger(step) || step < 0)
      throw new GhostFlowError(`MetricsLogger.log: step must be a non-negative integer, got ${step}`);
    for (const [name, v] of Object.entries(values))
      if (typeof v !== 'number') throw new GhostFlowError(`MetricsLogger.log: '${name}' must be a number, got ${typeof v}`);
    const record: MetricsRecord = { step, wallTime: this.clock(), values: { ...values } };
    for (const sink of this.sinks) sink.write(record);
  }

  /** Closes every sink; later `log` calls throw. Closing twice is harmless. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sink of this.sinks) sink.close?.();
  }

  /** `using logger = new MetricsLogger(...)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** JSON has no NaN or Infinity; they are written as the strings "NaN", "Infinity", "-Infinity". */
function jsonNumber(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

/** One JSON object per record, `{"step":1,"wall_time":1700000000.5,"loss":0.9}`, each ending in a newline. */
export function jsonLinesSink(write: (line: string) => void, onClose?: () => void): MetricsSink {
  return {
    write(r) {
      const obj: Record<string, number | string> = { step: r.step, wall_time: r.wallTime };
      for (const [k, v] of Object.entries(r.values)) obj[k] = jsonNumber(v);
      write(`${JSON.stringify(obj)}\n`);
    },
    close: onClose,
  };
}

/**
 * TensorBoard event records (`tensorboard --logdir` reads the file they form). The file-version
 * record is written before the first scalars.
 */
export function tfeventsSink(write: (bytes: Uint8Array) => void, onClose?: () => void): MetricsSink {
  let started = false;
  return {
    write(r) {
      if (!started) {
        write(fileVersionRecord(r.wallTime));
        started = true;
      }
      write(scalarsRecord(r.step, r.values, r.wallTime));
    },
    close: onClose,
  };
}

/** A sink that keeps every record in `records` (for charts in a page, or tests). */
export function memorySink(): MetricsSink & { readonly records: MetricsRecord[] } {
  const records: MetricsRecord[] = [];
  return {
    records,
    write(r) {
      records.push(r);
    },
  };
}
