/**
 * Assertions the op suites share: gradcheck passes, and a backend's fused kernels agree with
 * core's composed path.
 */
import {
  type Backend,
  add,
  type GradcheckOptions,
  type Tensor,
  gradcheck,
  gradients,
  loadBackend,
  mul,
  noGrad,
  registerBackend,
  removeBackend,
  sum,
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
  useWrapperBackend(ctx, name, () => ({}));
  return name;
}

/**
 * Registers (for the enclosing describe) a backend `${device}-without-<kernels>` that shares
 * the backend under test's storage and kernels and has all its fused kernels but `kernels`,
 * so core takes the path it takes on a backend lacking them. Returns its name.
 */
export function useBackendWithout(ctx: SuiteContext, kernels: readonly string[]): string {
  const name = `${ctx.device}-without-${kernels.join('-')}`;
  useWrapperBackend(ctx, name, (base) => Object.fromEntries(Object.entries(base.fused).filter(([k]) => !kernels.includes(k))));
  return name;
}

/**
 * Registers (for the enclosing describe) a backend `${device}-async` that shares the backend
 * under test's storage, kernels and fused kernels but has no `readSync`, so core takes the
 * paths asynchronous (GPU) backends take even on a backend that reads synchronously (e.g.
 * sort's device-side ranking instead of its host sort). Returns its name.
 */
export function useAsyncReadBackend(ctx: SuiteContext): string {
  const name = `${ctx.device}-async`;
  useWrapperBackend(ctx, name, (base) => base.fused, { readSync: { value: undefined } });
  return name;
}

/**
 * Registers (for the enclosing describe) a low-priority backend `name` wrapping the backend
 * under test, with the fused kernels `fusedOf(base)` (and `extra` properties overridden);
 * disposing it leaves the real backend alone.
 */
function useWrapperBackend(ctx: SuiteContext, name: string, fusedOf: (base: Backend) => object, extra: PropertyDescriptorMap = {}): void {
  beforeAll(async () => {
    const base = await loadBackend(ctx.device);
    // A prototype-linked wrapper: every method (incl. class methods) reaches the base, whose
    // data ids it shares; only name, fused and dispose differ.
    const wrapper = Object.create(base, {
      name: { value: name },
      fused: { value: fusedOf(base) },
      dispose: { value: () => undefined },
      ...extra,
    }) as Backend;
    registerBackend(name, () => wrapper, { priority: -100 });
    await loadBackend(name);
  });
  afterAll(() => removeBackend(name));
}

/** Host inputs of the fused-versus-composed checks: values and shape of each input. */
type HostInputs = readonly { data: readonly number[]; shape: readonly number[] }[];

/** Tensor results as a list. */
function asList(r: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(r) ? r : [r];
}

/** Asserts `got[i]` equals `want[i]` (shape and values within `tol`, absolute and relative) for every `i` of `got`. */
async function expectAllMatch(got: readonly Tensor[], want: readonly Tensor[], tol: number): Promise<void> {
  for (let i = 0; i < got.length; i++) {
    await expectTensor(got[i], Array.from(await want[i].data()), { shape: want[i].shape, atol: tol, rtol: tol });
  }
}

/**
 * Runs `fn` on the same host inputs on the backend under test (fused kernels when it has
 * them) and on the unfused wrapper (composed path), and asserts equal outputs and equal
 * gradients of the weighted loss for every float input.
 */
export async function expectFusedMatchesComposed(
  ctx: SuiteContext,
  unfused: string,
  inputs: HostInputs,
  fn: (...xs: Tensor[]) => Tensor | Tensor[],
  tol = 1e-5,
): Promise<void> {
  const runOn = (device: string) =>
    tidy(() => {
      const xs = inputs.map((i) => tensor(Float32Array.from(i.data), { shape: i.shape, device, requiresGrad: true }));
      const outs = asList(fn(...xs));
      for (const o of outs) expect(o.device).toBe(device);
      const gs = gradients(weightedLoss(outs), xs, null, { allowUnused: true }).map((g, i) => g ?? zeros(xs[i].shape, { device }));
      return { outs, gs };
    });
  const fused = runOn(ctx.device);
  const composed = runOn(unfused);
  try {
    expect(fused.outs.length).toBe(composed.outs.length);
    await expectAllMatch(fused.outs, composed.outs, tol);
    await expectAllMatch(fused.gs, composed.gs, 10 * tol);
  } finally {
    for (const t of [...fused.outs, ...fused.gs, ...composed.outs, ...composed.gs]) t.dispose();
  }
}

/** Deterministic host inputs of `shapes`, values uniform in [-scale, scale) (a small LCG). */
export function seededHostInputs(shapes: readonly (readonly number[])[], seed = 1, scale = 2): { data: number[]; shape: number[] }[] {
  let state = seed >>> 0 || 1;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return shapes.map((shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return { data: Array.from({ length: size }, () => (2 * next() - 1) * scale), shape: [...shape] };
  });
}

/**
 * Like {@link expectFusedMatchesComposed}, without autograd: `fn` runs under `noGrad` on the
 * backend under test and on the unfused wrapper, and the outputs must agree.
 */
export async function expectFusedMatchesComposedNoGrad(
  ctx: SuiteContext,
  unfused: string,
  inputs: HostInputs,
  fn: (...xs: Tensor[]) => Tensor | Tensor[],
  tol = 1e-5,
): Promise<void> {
  const runOn = (device: string) =>
    noGrad(() =>
      tidy(() => {
        const xs = inputs.map((i) => tensor(Float32Array.from(i.data), { shape: i.shape, device }));
        return asList(fn(...xs));
      }),
    );
  const fused = runOn(ctx.device);
  const composed = runOn(unfused);
  try {
    await expectAllMatch(fused, composed, tol);
  } finally {
    for (const t of [...fused, ...composed]) t.dispose();
  }
}

/**
 * Second derivatives: the gradients of the weighted loss are taken with `createGraph` (they
 * must agree between the fused and the composed path), then `total = sum_i sum(g_i * g_i)` is
 * differentiated again on the backend under test, and that must match central differences
 * of `total` (step `eps`, float32). Fused backward kernels cannot be differentiated, so this
 * checks that core keeps a differentiable gradient rule while a backward pass is recorded.
 * (Central differences rather than the composed path: core's composed rules give wrong
 * second derivatives through broadcast adds, a separate bug.)
 */
export async function expectFusedMatchesComposedSecondOrder(
  ctx: SuiteContext,
  unfused: string,
  inputs: HostInputs,
  fn: (...xs: Tensor[]) => Tensor | Tensor[],
  tol = 1e-4,
  eps = 1e-2,
): Promise<void> {
  const firstOrder = (device: string, values: readonly (readonly number[])[]) => {
    const xs = values.map((d, i) => tensor(Float32Array.from(d), { shape: inputs[i].shape, device, requiresGrad: true }));
    const outs = asList(fn(...xs));
    const g1 = gradients(weightedLoss(outs), xs, null, { allowUnused: true, createGraph: true }).filter((g): g is Tensor => g !== null);
    const total = g1.map((g) => sum(mul(g, g))).reduce((p, q) => add(p, q));
    return { xs, g1, total };
  };
  const values = inputs.map((i) => i.data);
  const fused = tidy(() => {
    const { xs, g1, total } = firstOrder(ctx.device, values);
    return { g1, g2: gradients(total, xs, null, { allowUnused: true }).map((g, i) => g ?? zeros(xs[i].shape, { device: ctx.device })) };
  });
  const composed = tidy(() => firstOrder(unfused, values).g1);
  const totalAt = async (vals: readonly (readonly number[])[]) => {
    const t = tidy(() => firstOrder(ctx.device, vals).total);
    const v = (await t.data())[0];
    t.dispose();
    return v;
  };
  try {
    expect(fused.g1.length).toBe(composed.length);
    await expectAllMatch(fused.g1, composed, tol);
    for (let i = 0; i < inputs.length; i++) {
      const numeric: number[] = [];
      for (let j = 0; j < inputs[i].data.length; j++) {
        const at = (delta: number) => values.map((d, k) => (k === i ? d.map((v, m) => (m === j ? v + delta : v)) : d));
        numeric.push(((await totalAt(at(eps))) - (await totalAt(at(-eps)))) / (2 * eps));
      }
      await expectTensor(fused.g2[i], numeric, { shape: inputs[i].shape, atol: 2e-2, rtol: 2e-2 });
    }
  } finally {
    for (const t of [...fused.g1, ...fused.g2, ...composed]) t.dispose();
  }
}

/**
 * Registers (for the enclosing describe) a backend `${device}-counting` that shares the
 * backend under test and its fused kernels, counting the calls of each fused kernel.
 * Returns its name and the counts (reset them between tests).
 */
export function useCountingBackend(ctx: SuiteContext): { name: string; calls: Map<string, number> } {
  const name = `${ctx.device}-counting`;
  const calls = new Map<string, number>();
  useWrapperBackend(ctx, name, (base) => {
    const fused: Record<string, unknown> = {};
    for (const [k, fn] of Object.entries(base.fused)) {
      if (typeof fn !== 'function') continue;
      fused[k] = (...args: unknown[]) => {
        calls.set(k, (calls.get(k) ?? 0) + 1);
        return (fn as (...a: unknown[]) => unknown).apply(base.fused, args);
      };
    }
    return fused;
  });
  return { name, calls };
}

/** The error `fn` throws; fails the test when it throws none. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  return expect.fail('expected an error to be thrown');
}
