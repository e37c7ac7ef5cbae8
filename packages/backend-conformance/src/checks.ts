/**
 * Assertions the op suites share: gradcheck passes, and a backend's fused kernels agree with
 * core's composed path.
 */
import {
  type Backend,
  type GradcheckOptions,
  type Tensor,
  gradcheck,
  gradients,
  loadBackend,
  registerBackend,
  removeBackend,
  tensor,
  tidy,
  zeros,
} from '@ghostflow/core';
import { afterAll, beforeAll, expect } from 'vitest';
import { weightedLoss } from './cases.js';
import { type SuiteContext, expectTensor } from './context.js';

/** Asserts that gradcheck passes for `fn` at `inputs`, then frees the inputs. */
export async function expectGradcheck(
  fn: (...inputs: Tensor[]) => Tensor | Tensor[],
  inputs: Tensor[],
  options?: GradcheckOptions,
): Promise<void> {
  try {
    const result = await gradcheck(fn, inputs, options);
    expect(result.mismatches.slice(0, 5), 'gradcheck mismatches').toEqual([]);
    expect(result.ok).toBe(true);
  } finally {
    for (const t of inputs) t.dispose();
  }
}

/**
 * Registers (for the enclosing describe) a backend `${device}-unfused` that shares the
 * backend under test's storage and kernels but has no fused kernels, so core takes the
 * composed path. Low priority, and disposing it leaves the real backend alone. Returns its name.
 */
export function useUnfusedBackend(ctx: SuiteContext): string {
  const name = `${ctx.device}-unfused`;
  beforeAll(async () => {
    const base = await loadBackend(ctx.device);
    // A prototype-linked wrapper: every method (incl. class methods) reaches the base, whose
    // data ids it shares; only name, fused and dispose differ.
    const wrapper = Object.create(base, {
      name: { value: name },
      fused: { value: {} },
      dispose: { value: () => undefined },
    }) as Backend;
    registerBackend(name, () => wrapper, { priority: -100 });
    await loadBackend(name);
  });
  afterAll(() => removeBackend(name));
  return name;
}

/**
 * Runs `fn` on the same host inputs on the backend under test (fused kernels when it has
 * them) and on the unfused wrapper (composed path), and asserts equal outputs and equal
 * gradients of the weighted loss for every float input.
 */
export async function expectFusedMatchesComposed(
  ctx: SuiteContext,
  unfused: string,
  inputs: readonly { data: readonly number[]; shape: readonly number[] }[],
  fn: (...xs: Tensor[]) => Tensor | Tensor[],
  tol = 1e-5,
): Promise<void> {
  const runOn = (device: string) =>
    tidy(() => {
      const xs = inputs.map((i) => tensor(Float32Array.from(i.data), { shape: i.shape, device, requiresGrad: true }));
      const r = fn(...xs);
      const outs = Array.isArray(r) ? r : [r];
      for (const o of outs) expect(o.device).toBe(device);
      const gs = gradients(weightedLoss(outs), xs, null, { allowUnused: true }).map((g, i) => g ?? zeros(xs[i].shape, { device }));
      return { outs, gs };
    });
  const fused = runOn(ctx.device);
  const composed = runOn(unfused);
  try {
    expect(fused.outs.length).toBe(composed.outs.length);
    for (let i = 0; i < fused.outs.length; i++) {
      await expectTensor(fused.outs[i], Array.from(await composed.outs[i].data()), { shape: composed.outs[i].shape, atol: tol, rtol: tol });
    }
    for (let i = 0; i < fused.gs.length; i++) {
      await expectTensor(fused.gs[i], Array.from(await composed.gs[i].data()), {
        shape: composed.gs[i].shape,
        atol: 10 * tol,
        rtol: 10 * tol,
      });
    }
  } finally {
    for (const t of [...fused.outs, ...fused.gs, ...composed.outs, ...composed.gs]) t.dispose();
  }
}
