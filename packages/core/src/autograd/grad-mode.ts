import { sharedSlot } from '../global-state.js';

/** Whether operations record the autograd graph: one switch per process (see global-state.ts). */
const mode = sharedSlot('gradMode', () => ({ enabled: true }));

/** Whether operations currently record gradients. */
export function isGradEnabled(): boolean {
  return mode.enabled;
}

/** Runs `fn` with gradient recording set to `on`, restoring the previous mode afterwards. */
export function withGradMode<T>(on: boolean, fn: () => T): T {
  const prev = mode.enabled;
  mode.enabled = on;
  try {
    return fn();
  } finally {
    mode.enabled = prev;
  }
}

/**
 * Runs `fn` without recording the autograd graph (like `torch.no_grad()`).
 *
 * @example
 * ```ts
 * import { noGrad, tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * const w = tensor([1, 2], { requiresGrad: true });
 * const y = noGrad(() => w.mul(3)); // no graph is recorded (inference, evaluation)
 * console.log(y.requiresGrad); // false
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with gradient recording on, even inside `noGrad` (like `torch.enable_grad()`). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
