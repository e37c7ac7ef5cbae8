/** The `adamUpdate` fused kernel (reference): one Adam/AdamW step in place. */
import type { AdamUpdateAttrs, TensorView } from '@ghostflow/core';
import { sizeOf } from '@ghostflow/core';
import type { CpuStore } from '../../storage.js';
import { rowMajorValues } from '../../strided.js';

/** The float32 constants of one step (each rounded once, as core's scalar operands are). */
export interface AdamConstants {
  b1: number;
  c1: number;
  b2: number;
  c2: number;
  bc2: number;
  eps: number;
  negStep: number;
  wd: number;
  decay: number;
  /** Bit 0: decoupled; bit 1: maximize (the wasm kernel's flags). */
  flags: number;
}

/** The constants the contract's formula uses, rounded to float32. */
export function adamConstants(a: AdamUpdateAttrs): AdamConstants {
  const f = Math.fround;
  return {
    b1: f(a.beta1),
    c1: f(1 - a.beta1),
    b2: f(a.beta2),
    c2: f(1 - a.beta2),
    bc2: f(Math.sqrt(1 - a.beta2 ** a.step)),
    eps: f(a.eps),
    negStep: f(-(a.lr / (1 - a.beta1 ** a.step))),
    wd: f(a.weightDecay),
    decay: f(1 - a.lr * a.weightDecay),
    flags: (a.decoupled ? 1 : 0) | (a.maximize ? 2 : 0),
  };
}

/**
 * The contract's formula element by element, every operation rounded to float32 (a JS
 * float64 result rounded once equals the float32 operation for + - * / sqrt). Targets are
 * contiguous (core guarantees it), so each is a run of its buffer from its offset.
 */
export function adamUpdate(
  store: CpuStore,
  param: TensorView,
  grad: TensorView,
  expAvg: TensorView,
  expAvgSq: TensorView,
  maxExpAvgSq: TensorView | null,
  attrs: AdamUpdateAttrs,
): void {
  const f = Math.fround;
  const size = sizeOf(param.shape);
  const c = adamConstants(attrs);
  const g0 = rowMajorValues(store.data(grad.dataId), grad);
  const p = store.data(param.dataId);
  const m = store.data(expAvg.dataId);
  const v = store.data(expAvgSq.dataId);
  const x = maxExpAvgSq ? store.data(maxExpAvgSq.dataId) : null;
  const [op, om, ov, ox] = [param.offset, expAvg.offset, expAvgSq.offset, maxExpAvgSq?.offset ?? 0];
  const useWd = attrs.weightDecay !== 0;
  for (let i = 0; i < size; i++) {
    let pi = p[op + i];
    let g = attrs.maximize ? -g0[i] : g0[i];
    if (useWd) {
      if (attrs.decoupled) pi = f(pi * c.decay);
      else g = f(g + f(pi * c.wd));
    }
    const mi = f(f(m[om + i] * c.b1) + f(g * c.c1));
    const vi = f(f(v[ov + i] * c.b2) + f(f(f(g * g) * c.c2)));
    m[om + i] = mi;
    v[ov + i] = vi;
    let second = vi;
    if (x) {
      const prev = x[ox + i];
      second = Number.isNaN(prev) || Number.isNaN(vi) ? Number.NaN : Math.max(prev, vi);
      x[ox + i] = second;
    }
    const denom = f(f(f(Math.sqrt(second)) / c.bc2) + c.eps);
    p[op + i] = f(pi + f(f(mi / denom) * c.negStep));
  }
  for (const t of maxExpAvgSq ? [param, expAvg, expAvgSq, maxExpAvgSq] : [param, expAvg, expAvgSq]) store.buffer(t.dataId).version++;
}
