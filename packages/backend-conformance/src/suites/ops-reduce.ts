/**
 * Reductions: sum, mean, prod, amax/amin, max/min, argmax/argmin, var, std, logsumexp,
 * any/all. Values and gradients against PyTorch (cases/reduce_matmul.json, made by
 * tools/torch-cases/reduce_matmul.py), gradchecks of every differentiable op, and errors.
 *
 * This file also holds the case-file and fused/composed helpers the matmul and norm suites share.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type Backend,
  type DType,
  DTypeError,
  type GradcheckOptions,
  ShapeError,
  type Tensor,
  add,
  all,
  amax,
  amin,
  any,
  argmax,
  argmin,
  gradcheck,
  gradients,
  loadBackend,
  logsumexp,
  memory,
  max,
  mean,
  min,
  mul,
  permute,
  prod,
  registerBackend,
  removeBackend,
  std,
  sum,
  tensor,
  tidy,
  transpose,
  variance,
  zeros,
} from '@ghostflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SuiteContext, expectTensor } from '../context.js';

/** A tensor as reduce_matmul.json stores it; non-finite floats are the strings nan/inf/-inf. */
export interface RMCaseTensor {
  /** Flat values (bools as 0/1). */
  data: (number | string)[];
  /** Shape. */
  shape: number[];
  /** Dtype (PyTorch int64 is stored as int32). */
  dtype: DType;
}

/** One PyTorch reference case of reduce_matmul.json. */
export interface RMCase {
  /** Named inputs. */
  inputs: Record<string, RMCaseTensor>;
  /** The op's outputs, in order. */
  outputs: RMCaseTensor[];
  /** Gradients of `sum_k sum(out_k * w_k)` for each float input (see {@link rmWeight}). */
  grads: Record<string, RMCaseTensor>;
}

let cache: Record<string, RMCase> | undefined;

/** The reference case `name` from cases/reduce_matmul.json (throws when it does not exist). */
export function rmCase(name: string): RMCase {
  if (!cache) {
    // From src/suites when tests run on sources; from dist/ when the kit is built.
    const url = [new URL('../../cases/reduce_matmul.json', import.meta.url), new URL('../cases/reduce_matmul.json', import.meta.url)].find(
      (u) => existsSync(fileURLToPath(u)),
    );
    if (!url) throw new Error('cases/reduce_matmul.json not found next to the conformance kit');
    cache = (JSON.parse(readFileSync(url, 'utf8')) as { cases: Record<string, RMCase> }).cases;
  }
  const c = cache[name];
  if (!c)
    throw new Error(`no PyTorch case named '${name}' in cases/reduce_matmul.json; regenerate it with tools/torch-cases/reduce_matmul.py`);
  return c;
}

/** Flat numbers of a case tensor (the JSON spells non-finite floats as strings). */
export function rmValues(t: RMCaseTensor): number[] {
  return t.data.map((v) =>
    typeof v === 'number' ? v : v === 'nan' ? Number.NaN : v === 'inf' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY,
  );
}

/** A case tensor on `device` (the active backend by default); float32 ones require grad when `grad`. */
export function rmTensor(t: RMCaseTensor, grad = false, device?: string): Tensor {
  const v = rmValues(t);
  const values = t.dtype === 'float32' ? Float32Array.from(v) : t.dtype === 'int32' ? Int32Array.from(v) : Uint8Array.from(v);
  return tensor(values, { shape: t.shape, dtype: t.dtype, device, requiresGrad: grad && t.dtype === 'float32' });
}

/** The fixed weight `w[i] = ((7 i) mod 11) / 11 - 0.3` over `shape` (same as the generator). */
export function rmWeight(shape: readonly number[], device?: string): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Float32Array.from({ length: n }, (_, i) => ((7 * i) % 11) / 11 - 0.3),
    { shape, device },
  );
}

/** `sum_k sum(out_k * w_k)` over the outputs that require grad (the cases' loss). */
export function weightedLoss(outs: readonly Tensor[]): Tensor {
  const terms = outs.filter((o) => o.requiresGrad).map((o) => sum(mul(o, rmWeight(o.shape, o.device))));
  return terms.reduce((a, b) => add(a, b));
}

/** Tolerances for {@link checkCase}. */
export interface CaseOptions {
  /** Value tolerance (default 1e-5 absolute and relative). */
  atol?: number;
  /** Relative value tolerance. */
  rtol?: number;
  /** Gradient tolerance, absolute and relative (default 1e-4). */
  gradTol?: number;
}

/**
 * Runs `fn` on the inputs of case `name` and asserts its outputs (values, shapes, dtypes)
 * and, for float inputs, the gradients of the weighted sum of the outputs, against PyTorch.
 */
export async function checkCase(
  name: string,
  fn: (inputs: Record<string, Tensor>) => Tensor | Tensor[],
  options: CaseOptions = {},
): Promise<void> {
  const c = rmCase(name);
  const gradNames = Object.keys(c.grads);
  const { outs, grads } = tidy(() => {
    const inputs: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(c.inputs)) inputs[k] = rmTensor(v, gradNames.includes(k));
    const result = fn(inputs);
    const list = Array.isArray(result) ? result : [result];
    let gs: Tensor[] = [];
    if (gradNames.length > 0) {
      gs = gradients(
        weightedLoss(list),
        gradNames.map((k) => inputs[k]),
        null,
        { allowUnused: true },
      ).map((g, i) => g ?? zeros(c.grads[gradNames[i]].shape));
    }
    return { outs: list, grads: gs };
  });
  try {
    expect(outs.length, `${name}: number of outputs`).toBe(c.outputs.length);
    for (let i = 0; i < outs.length; i++) {
      const want = c.outputs[i];
      await expectTensor(outs[i], rmValues(want), { shape: want.shape, dtype: want.dtype, atol: options.atol, rtol: options.rtol });
    }
    const gt = options.gradTol ?? 1e-4;
    for (let i = 0; i < gradNames.length; i++) {
      const want = c.grads[gradNames[i]];
      await expectTensor(grads[i], rmValues(want), { shape: want.shape, atol: gt, rtol: gt });
    }
  } finally {
    for (const t of [...outs, ...grads]) t.dispose();
  }
}

/** Float inputs of case `name`, requiring grad, in the order of `keys`. */
export function rmInputs(name: string, ...keys: string[]): Tensor[] {
  const c = rmCase(name);
  return keys.map((k) => rmTensor(c.inputs[k], true));
}

/** Asserts that gradcheck passes for `fn` at `inputs`, then frees the inputs. */
export async function expectGradcheckOk(
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

/** `[values, indices]` of a max/min along a dim, as the cases list them. */
function pair(r: { values: Tensor; indices: Tensor }): Tensor[] {
  return [r.values, r.indices];
}

/** Hand-made inputs without near-ties (finite differences need a gap wider than eps). */
function spread(shape: readonly number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  // A permutation of 0..n-1 (seed coprime-ish stride), scaled: distinct values 0.1 apart.
  const values = Float32Array.from({ length: n }, (_, i) => ((i * seed) % n) * 0.1 - 0.05 * n);
  return tensor(values, { shape, requiresGrad: true });
}

/** Registers the tests of this area. */
export function opsReduceSuite(_ctx: SuiteContext): void {
  describe('sum', () => {
    it('over all dims', () => checkCase('sum_all', ({ x }) => sum(x)));
    it('over one dim with keepdim', () => checkCase('sum_dim1_keepdim', ({ x }) => sum(x, 1, true)));
    it('over several negative dims', () => checkCase('sum_neg_multi', ({ x }) => sum(x, [-1, 0])));
    it('of a non-contiguous input', () => checkCase('sum_noncontig', ({ x }) => sum(transpose(x, 0, 1), 1)));
    it('over an empty dim is 0', () => checkCase('sum_empty_dim', ({ x }) => sum(x, 1)));
    it('of an empty tensor is 0', () => checkCase('sum_empty_all', ({ x }) => sum(x)));
    it('of int32 stays int32', () => checkCase('sum_int', ({ x }) => sum(x, 0)));
    it('of bool counts as int32', () => checkCase('sum_bool', ({ x }) => sum(x, -1)));
    it('of a 0-d tensor over dim 0 (keepdim adds nothing)', () => checkCase('sum_0d', ({ x }) => sum(x, 0, true)));
    it('propagates NaN and inf', () => checkCase('sum_nan', ({ x }) => sum(x, 1)));
    it('treats an empty dim list as all dims (PyTorch 1.x)', async () => {
      const x = tensor([
        [1, 2],
        [3, 4],
      ]);
      const y = sum(x, []);
      await expectTensor(y, 10);
      x.dispose();
      y.dispose();
    });
    it('passes gradcheck', () => expectGradcheckOk((x) => sum(x, [0, 2], true), rmInputs('sum_neg_multi', 'x')));
  });

  describe('mean', () => {
    it('over several dims with keepdim', () => checkCase('mean_dims_keepdim', ({ x }) => mean(x, [0, 2], true)));
    it('over all dims', () => checkCase('mean_all', ({ x }) => mean(x)));
    it('of a permuted input along a negative dim', () => checkCase('mean_noncontig_neg', ({ x }) => mean(permute(x, 2, 0, 1), -1)));
    it('over an empty dim is NaN', () => checkCase('mean_empty', ({ x }) => mean(x, 0)));
    it('rejects integer input like PyTorch', () => {
      const x = tensor([1, 2], { dtype: 'int32' });
      expect(() => mean(x)).toThrow(DTypeError);
      expect(() => mean(x)).toThrow(/mean.*int32/);
      x.dispose();
    });
    it('passes gradcheck', () => expectGradcheckOk((x) => mean(permute(x, 2, 0, 1), -1), rmInputs('mean_noncontig_neg', 'x')));
  });

  describe('prod', () => {
    it('along a dim', () => checkCase('prod_dim', ({ x }) => prod(x, 1)));
    it('gives exact gradients with one, two and all zeros in a slice', () => checkCase('prod_zeros', ({ x }) => prod(x, 1)));
    it('of everything with one zero', () => checkCase('prod_all_one_zero', ({ x }) => prod(x)));
    it('along a negative dim with keepdim', () => checkCase('prod_keepdim_neg', ({ x }) => prod(x, -2, true)));
    it('of int32 stays int32', () => checkCase('prod_int', ({ x }) => prod(x, 1)));
    it('over an empty dim is 1', () => checkCase('prod_empty', ({ x }) => prod(x, 1)));
    it('passes gradcheck', () => expectGradcheckOk((x) => prod(x, -2, true), rmInputs('prod_keepdim_neg', 'x')));
    it('passes gradcheck around zeros', () => expectGradcheckOk((x) => prod(x, 1), rmInputs('prod_zeros', 'x')));
  });

  describe('amax / amin', () => {
    it('split the gradient evenly among ties', () => checkCase('amax_ties', ({ x }) => amax(x, 1)));
    it('over several dims with keepdim', () => checkCase('amax_multi_keepdim', ({ x }) => amax(x, [0, 2], true)));
    it('amin along a negative dim', () => checkCase('amin_neg', ({ x }) => amin(x, -1)));
    it('amin over all dims with ties', () => checkCase('amin_all_ties', ({ x }) => amin(x)));
    it('of a non-contiguous input', () => checkCase('amax_noncontig', ({ x }) => amax(transpose(x, 0, 1), 0)));
    it('propagate NaN (values and gradient, as PyTorch)', () => checkCase('amax_nan', ({ x }) => amax(x, 1)));
    it('of int32', () => checkCase('amax_int', ({ x }) => amax(x, 0)));
    it('of bool', async () => {
      await checkCase('amax_bool', ({ x }) => amax(x, 1));
      await checkCase('amin_bool', ({ x }) => amin(x, 1));
    });
    it('reject reducing an empty dim', () => {
      const x = zeros([2, 0]);
      expect(() => amax(x, 1)).toThrow(ShapeError);
      expect(() => amin(x)).toThrow(/size 0/);
      x.dispose();
    });
    it('pass gradcheck', async () => {
      await expectGradcheckOk((x) => amax(x, [0, 2], true), [spread([2, 3, 4], 7)]);
      await expectGradcheckOk((x) => amin(x, -1), [spread([3, 4], 5)]);
    });
  });

  describe('max / min', () => {
    it('of everything split the gradient among ties', () => checkCase('max_all_ties', ({ x }) => max(x)));
    it('min of everything', () => checkCase('min_all', ({ x }) => min(x)));
    it('along a dim give values and indices, gradient to the index', () => checkCase('max_dim', ({ x }) => pair(max(x, 1))));
    it('pick the first of tied values, with keepdim', () => checkCase('max_dim_keepdim_ties', ({ x }) => pair(max(x, 1, true))));
    it('min along a negative dim', () => checkCase('min_dim_neg', ({ x }) => pair(min(x, -2))));
    it('of a non-contiguous input', () => checkCase('max_dim_noncontig', ({ x }) => pair(max(transpose(x, 0, 1), 1))));
    it('propagate NaN and point at it', () => checkCase('max_dim_nan', ({ x }) => pair(max(x, 1))));
    it('of int32 and bool', async () => {
      await checkCase('max_dim_int', ({ x }) => pair(max(x, 0)));
      await checkCase('min_dim_bool', ({ x }) => pair(min(x, 1)));
    });
    it('of a 0-d tensor', () => checkCase('max_0d', ({ x }) => pair(max(x, 0))));
    it('along a non-empty dim of an empty tensor', () => checkCase('max_empty_other_dim', ({ x }) => pair(max(x, 1))));
    it('reject an empty input or dim', () => {
      const x = zeros([0, 3]);
      expect(() => max(x)).toThrow(ShapeError);
      expect(() => min(x, 0)).toThrow(/size 0/);
      x.dispose();
    });
    it('pass gradcheck', async () => {
      await expectGradcheckOk((x) => max(x), [spread([3, 4], 5)]);
      await expectGradcheckOk((x) => max(x, 1).values, [spread([3, 4], 7)]);
      await expectGradcheckOk((x) => min(transpose(x, 0, 1), -1, true).values, [spread([4, 3], 5)]);
    });
  });

  describe('argmax / argmin', () => {
    it('over the flattened tensor', () => checkCase('argmax_flat', ({ x }) => argmax(x)));
    it('over the flattened tensor with keepdim', () => checkCase('argmax_flat_keepdim', ({ x }) => argmax(x, undefined, true)));
    it('along a dim', () => checkCase('argmax_dim', ({ x }) => argmax(x, 1)));
    it('give the first occurrence on ties', () => checkCase('argmax_ties', ({ x }) => argmax(x, -1)));
    it('argmin along dim 0 with keepdim', () => checkCase('argmin_dim0_keepdim', ({ x }) => argmin(x, 0, true)));
    it('argmin on ties of a non-contiguous input', () => checkCase('argmin_ties_noncontig', ({ x }) => argmin(transpose(x, 0, 1), 1)));
    it('count NaN as the max', () => checkCase('argmax_nan', ({ x }) => argmax(x, 1)));
    it('of int32', () => checkCase('argmax_int', ({ x }) => argmax(x, 1)));
    it('of a 0-d tensor', () => checkCase('argmax_0d', ({ x }) => argmax(x, 0)));
    it('of bool', async () => {
      const x = tensor([true, true, false, false]);
      const i = argmin(x);
      const j = argmax(x);
      await expectTensor(i, 2, { dtype: 'int32' });
      await expectTensor(j, 0, { dtype: 'int32' });
      for (const t of [x, i, j]) t.dispose();
    });
    it('reject an empty input', () => {
      const x = zeros([0]);
      expect(() => argmax(x)).toThrow(ShapeError);
      x.dispose();
    });
  });

  describe('variance / std', () => {
    it('var over everything (unbiased)', () => checkCase('var_all', ({ x }) => variance(x)));
    it('var along a dim, correction 0, keepdim', () =>
      checkCase('var_dim_correction0_keepdim', ({ x }) => variance(x, { dim: 1, correction: 0, keepdim: true })));
    it('var over several dims', () => checkCase('var_multi_neg', ({ x }) => variance(x, { dim: [0, -1] })));
    it('var of a non-contiguous input', () => checkCase('var_noncontig', ({ x }) => variance(transpose(x, 0, 1), { dim: 1 })));
    it('var of one element is NaN', () => checkCase('var_single', ({ x }) => variance(x, { dim: 1 })));
    it('std over everything', () => checkCase('std_all', ({ x }) => std(x)));
    it('std along a dim, correction 0', () => checkCase('std_dim_correction0', ({ x }) => std(x, { dim: 0, correction: 0 })));
    it('std over several dims with keepdim', () => checkCase('std_multi_keepdim', ({ x }) => std(x, { dim: [1, 2], keepdim: true })));
    it('std of a constant slice has zero gradient', () => checkCase('std_constant', ({ x }) => std(x, { dim: 1 })));
    it('reject integer input', () => {
      const x = tensor([1, 2], { dtype: 'int32' });
      expect(() => variance(x)).toThrow(DTypeError);
      expect(() => std(x)).toThrow(DTypeError);
      x.dispose();
    });
    it('pass gradcheck', async () => {
      await expectGradcheckOk((x) => variance(x, { dim: [0, -1] }), rmInputs('var_multi_neg', 'x'));
      await expectGradcheckOk((x) => variance(x, { dim: 1, correction: 0, keepdim: true }), rmInputs('var_dim_correction0_keepdim', 'x'));
      await expectGradcheckOk((x) => std(x, { dim: [1, 2], keepdim: true }), rmInputs('std_multi_keepdim', 'x'));
    });
  });

  describe('logsumexp', () => {
    it('along a dim', () => checkCase('logsumexp_dim', ({ x }) => logsumexp(x, 1)));
    it('over several dims with keepdim', () => checkCase('logsumexp_multi_keepdim', ({ x }) => logsumexp(x, [0, 2], true)));
    it('is stable for large magnitudes', () => checkCase('logsumexp_large', ({ x }) => logsumexp(x, -1), { atol: 1e-3 }));
    it('gives -inf for all -inf slices, inf for inf, NaN for NaN', () => checkCase('logsumexp_neg_inf', ({ x }) => logsumexp(x, 1)));
    it('over an empty dim is -inf', () => checkCase('logsumexp_empty', ({ x }) => logsumexp(x, 1)));
    it('promotes int32 to float32', () => checkCase('logsumexp_int', ({ x }) => logsumexp(x, 0)));
    it('of a non-contiguous input', () => checkCase('logsumexp_noncontig', ({ x }) => logsumexp(transpose(x, 0, 1), 1)));
    it('passes gradcheck', () => expectGradcheckOk((x) => logsumexp(x, [0, 2], true), rmInputs('logsumexp_multi_keepdim', 'x')));
  });

  describe('any / all', () => {
    it('any along a dim of float input', () => checkCase('any_dim', ({ x }) => any(x, 1)));
    it('all along dim 0 of int input with keepdim', () => checkCase('all_dim_keepdim', ({ x }) => all(x, 0, true)));
    it('any of bool over everything', () => checkCase('any_all_bool', ({ x }) => any(x)));
    it('all counts NaN as true', () => checkCase('all_nan_is_true', ({ x }) => all(x)));
    it('of empty tensors are false / true', async () => {
      await checkCase('any_empty', ({ x }) => any(x));
      await checkCase('all_empty', ({ x }) => all(x));
    });
  });

  describe('dims', () => {
    it('reject out-of-range and repeated dims, naming them', () => {
      const x = zeros([2, 3]);
      expect(() => sum(x, 2)).toThrow(/dimension 2 is out of range/);
      expect(() => mean(x, [0, -2])).toThrow(/more than once/);
      expect(() => argmax(x, -3)).toThrow(ShapeError);
      x.dispose();
    });
    it('leave no buffers behind after forward and backward', () => {
      const x = tensor(
        [
          [1, 5, 2],
          [4, 3, 6],
        ],
        { requiresGrad: true },
      );
      const before = memory().buffers;
      tidy(() => {
        const outs = [
          sum(x, 1),
          mean(x),
          prod(x, 0),
          amax(x, 1),
          max(x),
          max(x, 1).values,
          variance(x),
          std(x, { dim: 0 }),
          logsumexp(x, 1),
          argmax(x),
          any(x),
        ];
        for (const g of gradients(weightedLoss(outs), [x])) g?.dispose();
      });
      expect(memory().buffers).toBe(before);
      x.dispose();
    });
  });
}
