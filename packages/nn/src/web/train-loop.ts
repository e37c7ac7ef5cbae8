/**
 * A training loop that keeps its thread responsive: between steps it yields to the event
 * loop whenever a time slice has passed, so a page repaints and handles input while a
 * synchronous backend (cpu) trains, and a worker can receive a stop message.
 */
import { GhostFlowError } from '@ghostflow/core';

/** One progress report: the step just finished and its loss. */
export interface TrainingProgress {
  /** Steps finished so far (1 after the first). */
  step: number;
  /** Steps planned. */
  steps: number;
  /** The loss the step returned. */
  loss: number;
  /** Mean wall time per step so far, in milliseconds. */
  msPerStep: number;
}

/** How a {@link trainLoop} ended. */
export interface TrainingResult {
  /** Every step's loss, in order. */
  losses: number[];
  /** True when the signal stopped it before `steps`. */
  stopped: boolean;
  /** Wall time of the whole loop, in milliseconds. */
  ms: number;
}

/** Options for {@link trainLoop}. */
export interface TrainLoopOptions {
  /** Steps to run. */
  steps: number;
  /** One training step; returns (or resolves with) its loss. `index` counts from 0. */
  step: (index: number) => number | Promise<number>;
  /** Called after every step. */
  onProgress?: (progress: TrainingProgress) => void;
  /** Stops the loop after the current step (the result says `stopped: true`). */
  signal?: AbortSignal;
  /**
   * Longest stretch, in milliseconds, of back-to-back steps before yielding to the event
   * loop (default 16: about one frame). 0 yields after every step.
   */
  sliceMs?: number;
}

const now = (): number => (typeof performance === 'object' ? performance.now() : Date.now());

/**
 * Resolves on a new macrotask, so pending rendering, input, timers and messages run first
 * (a MessageChannel message, which is not clamped like a nested `setTimeout(0)`; else
 * `setTimeout`). Not `scheduler.yield()`: its continuation runs ahead of queued tasks, so a
 * worker would never see its stop message.
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const { port1, port2 } = new MessageChannel();
      port1.onmessage = () => {
        port1.close();
        resolve();
      };
      port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Runs `steps` training steps, reporting each, yielding to the event loop every `sliceMs`
 * so the page stays responsive (works in pages, workers and Node alike).
 * @example
 * ```ts
 * import { randn, tidy } from '@ghostflow/core';
 * import { Adam, Linear, mseLoss } from '@ghostflow/nn';
 * import { trainLoop } from '@ghostflow/nn/browser';
 * declare const status: HTMLElement;
 * const model = new Linear(4, 1);
 * const opt = new Adam(model.parameters(), { lr: 1e-2 });
 * const x = randn([32, 4]);
 * const y = randn([32, 1]);
 * const lossFn = () => mseLoss(model.forward(x), y);
 * const stop = new AbortController();
 * const { losses } = await trainLoop({
 *   steps: 500,
 *   step: () => tidy(() => { opt.zeroGrad(); const l = lossFn(); l.backward(); opt.step(); return l.itemSync(); }),
 *   onProgress: ({ step, loss }) => (status.textContent = `step ${step}: ${loss.toFixed(3)}`),
 *   signal: stop.signal,
 * });
 * ```
 */
export async function trainLoop(options: TrainLoopOptions): Promise<TrainingResult> {
  const { steps, step, onProgress, signal } = options;
  const sliceMs = options.sliceMs ?? 16;
  if (!Number.isSafeInteger(steps) || steps < 0)
    throw new GhostFlowError(`trainLoop: expected a non-negative integer 'steps', got ${String(steps)}`);
  if (typeof step !== 'function') throw new GhostFlowError(`trainLoop: expected a 'step' function, got ${typeof step}`);
  if (!(sliceMs >= 0)) throw new GhostFlowError(`trainLoop: expected 'sliceMs' >= 0, got ${String(sliceMs)}`);
  const losses: number[] = [];
  const t0 = now();
  let sliceStart = t0;
  for (let i = 0; i < steps; i++) {
    if (signal?.aborted) break;
    const loss = await step(i);
    if (typeof loss !== 'number')
      throw new GhostFlowError(`trainLoop: expected step ${i} to return a number (its loss), got ${typeof loss}`);
    losses.push(loss);
    const t = now();
    onProgress?.({ step: i + 1, steps, loss, msPerStep: (t - t0) / (i + 1) });
    if (t - sliceStart >= sliceMs) {
      await yieldToEventLoop();
      sliceStart = now();
    }
  }
  return { losses, stopped: losses.length < steps, ms: now() - t0 };
}
