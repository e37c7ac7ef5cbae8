/**
 * Training in a Web Worker with progress streamed to the page. The worker side
 * ({@link serveTraining}) runs a {@link trainLoop} per `start` message and posts each
 * step's progress; the page side ({@link trainInWorker}) starts it and resolves with the
 * result. Messages are plain objects, so any `postMessage` endpoint works (a `Worker`, a
 * `MessagePort`, the worker's `self`).
 */
import { GhostFlowError } from '@ghostflow/core';
import { type TrainingProgress, type TrainingResult, trainLoop } from './train-loop.js';

/** What travels between {@link trainInWorker} and {@link serveTraining}. */
export type TrainingMessage =
  | { ghostflow: 'train/start'; id: number; config: unknown }
  | { ghostflow: 'train/stop'; id: number }
  | { ghostflow: 'train/progress'; id: number; progress: TrainingProgress }
  | { ghostflow: 'train/done'; id: number; result: TrainingResult; extra: unknown }
  | { ghostflow: 'train/error'; id: number; message: string; name: string };

/** The part of `Worker`, `MessagePort` and a worker's `self` that the helpers use. */
export interface MessageEndpoint {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** What a worker's training job returns to {@link serveTraining}. */
export interface TrainingJob {
  /** Steps to run. */
  steps: number;
  /** One step; returns its loss. */
  step: (index: number) => number | Promise<number>;
  /** Called once after the loop (stopped or not); its result goes to the page as `extra`. */
  finish?: (result: TrainingResult) => unknown | Promise<unknown>;
  /** See {@link TrainLoopOptions.sliceMs}; default 0 in a worker (a stop message is seen after every step). */
  sliceMs?: number;
}

/** Options for {@link trainInWorker}. */
export interface TrainInWorkerOptions {
  /** Called for every step the worker reports. */
  onProgress?: (progress: TrainingProgress) => void;
  /** Aborting asks the worker to stop after its current step (the result says `stopped`). */
  signal?: AbortSignal;
}

/** Result of {@link trainInWorker}: the loop's result plus what the job's `finish` returned. */
export interface WorkerTrainingResult<E = unknown> extends TrainingResult {
  /** The value the worker's `finish` returned (structured-cloned). */
  extra: E;
}

function isMessage(data: unknown): data is TrainingMessage {
  return typeof data === 'object' && data !== null && typeof (data as { ghostflow?: unknown }).ghostflow === 'string';
}

let nextId = 1;

/**
 * Page side: asks the worker to train with `config` (any structured-cloneable value its
 * {@link serveTraining} handler understands), streams progress to `onProgress`, and
 * resolves when it is done. A failure in the worker rejects with a GhostFlowError carrying
 * the worker's message.
 * @example
 * ```ts
 * import { trainInWorker } from '@ghostflow/nn/browser';
 * declare const chart: { push(step: number, loss: number): void };
 * const worker = new Worker(new URL('./train.worker.ts', import.meta.url), { type: 'module' });
 * const { losses } = await trainInWorker(worker, { steps: 200, lr: 0.01 }, {
 *   onProgress: ({ step, loss }) => chart.push(step, loss),
 * });
 * ```
 */
export function trainInWorker<E = unknown>(
  worker: MessageEndpoint,
  config: unknown,
  options: TrainInWorkerOptions = {},
): Promise<WorkerTrainingResult<E>> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onAbort = () => worker.postMessage({ ghostflow: 'train/stop', id } satisfies TrainingMessage);
    const listener = (event: MessageEvent) => {
      const m = event.data;
      if (!isMessage(m) || m.id !== id) return;
      if (m.ghostflow === 'train/progress') {
        options.onProgress?.(m.progress);
        return;
      }
      if (m.ghostflow !== 'train/done' && m.ghostflow !== 'train/error') return;
      worker.removeEventListener('message', listener);
      options.signal?.removeEventListener('abort', onAbort);
      if (m.ghostflow === 'train/done') resolve({ ...m.result, extra: m.extra as E });
      else reject(new GhostFlowError(`trainInWorker: the worker failed: ${m.name}: ${m.message}`));
    };
    worker.addEventListener('message', listener);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    worker.postMessage({ ghostflow: 'train/start', id, config } satisfies TrainingMessage);
    if (options.signal?.aborted) onAbort();
  });
}

/**
 * Worker side: for every `start` message from {@link trainInWorker}, builds a job with
 * `setup(config)` and runs it, posting progress after each step, then the result (or the
 * error). A `stop` message ends the job after its current step. Returns a function that
 * stops listening.
 * @example
 * ```ts
 * // train.worker.ts
 * import '@ghostflow/backend-cpu';
 * import { randn, tidy } from '@ghostflow/core';
 * import { Adam, Linear, mseLoss } from '@ghostflow/nn';
 * import { serveTraining } from '@ghostflow/nn/browser';
 * serveTraining(self, async ({ steps, lr }: { steps: number; lr: number }) => {
 *   const model = new Linear(4, 1);
 *   const opt = new Adam(model.parameters(), { lr });
 *   const [x, y] = [randn([32, 4]), randn([32, 1])];
 *   const step = () => tidy(() => { opt.zeroGrad(); const l = mseLoss(model.forward(x), y); l.backward(); opt.step(); return l.itemSync(); });
 *   return { steps, step, finish: () => model.weight.data() };
 * });
 * ```
 */
export function serveTraining<C = unknown>(
  endpoint: MessageEndpoint,
  setup: (config: C) => TrainingJob | Promise<TrainingJob>,
): () => void {
  const running = new Map<number, AbortController>();
  const listener = (event: MessageEvent) => {
    const m = event.data;
    if (!isMessage(m)) return;
    if (m.ghostflow === 'train/stop') {
      running.get(m.id)?.abort();
      return;
    }
    if (m.ghostflow !== 'train/start') return;
    const { id } = m;
    const stop = new AbortController();
    running.set(id, stop);
    void (async () => {
      try {
        const job = await setup(m.config as C);
        const result = await trainLoop({
          steps: job.steps,
          step: job.step,
          signal: stop.signal,
          sliceMs: job.sliceMs ?? 0,
          onProgress: (progress) => endpoint.postMessage({ ghostflow: 'train/progress', id, progress } satisfies TrainingMessage),
        });
        const extra = job.finish ? await job.finish(result) : undefined;
        endpoint.postMessage({ ghostflow: 'train/done', id, result, extra } satisfies TrainingMessage);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        endpoint.postMessage({ ghostflow: 'train/error', id, message: err.message, name: err.name } satisfies TrainingMessage);
      } finally {
        running.delete(id);
      }
    })();
  };
  endpoint.addEventListener('message', listener);
  return () => endpoint.removeEventListener('message', listener);
}
