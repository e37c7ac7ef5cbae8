/**
 * The float32 constants of one fused Adam/AdamW step, as the contract's formula rounds its
 * scalar operands (each rounded once from the float64 value, like core's scalar tensors).
 */
import type { AdamUpdateAttrs } from '@ghostflow/core';

/** `[constants, flags]` for the addon's `adam` (native.ts states their order and the flag bits). */
export function adamConstants(a: AdamUpdateAttrs): [number[], number] {
  const f = Math.fround;
  const constants = [
    f(a.beta1),
    f(1 - a.beta1),
    f(a.beta2),
    f(1 - a.beta2),
    f(Math.sqrt(1 - a.beta2 ** a.step)),
    f(a.eps),
    f(-(a.lr / (1 - a.beta1 ** a.step))),
    f(a.weightDecay),
    f(1 - a.lr * a.weightDecay),
  ];
  const flags = (a.decoupled ? 1 : 0) | (a.maximize ? 2 : 0) | (a.weightDecay !== 0 ? 4 : 0);
  return [constants, flags];
}
