/**
 * Reductions: sum, mean, prod, amax/amin, max/min, argmax/argmin, var, std, logsumexp,
 * any/all. Values and gradients against PyTorch (cases/reduce_matmul.json, made by
 * tools/torch-cases/reduce_matmul.py), gradchecks of every differentiable op, and errors.

 */
import {
  DTypeError,
  ShapeError,
  type Tensor,
  all,
  amax,
  amin,
  any,
  argmax,
  argmin,
  gradients,
  logsumexp,
  memory,
  max,
  mean,
  min,
  permute,
  prod,
  std,
  sum,
  tensor,
  tidy,
  transpose,
  variance,
  zeros,
} from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import { reduceMatmulCases as cases, weightedLoss } from '../cases.js';
import { expectGradcheck } from '../checks.js';
import { type SuiteContext, expectTensor } from '../context.js';

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
    it('over all dims', () => cases.check('sum_all', ({ x }) => sum(x)));
    it('over one dim with keepdim', () => cases.check('sum_dim1_keepdim', ({ x }) => sum(x, 1, true)));
    it('over several negative dims', () => cases.check('sum_neg_multi', ({ x }) => sum(x, [-1, 0])));
    it('of a non-contiguous input', () => cases.check('sum_noncontig', ({ x }) => sum(transpose(x, 0, 1), 1)));
    it('over an empty dim is 0', () => cases.check('sum_empty_dim', ({ x }) => sum(x, 1)));
    it('of an empty tensor is 0', () => cases.check('sum_empty_all', ({ x }) => sum(x)));
    it('of int32 stays int32', () => cases.check('sum_int', ({ x }) => sum(x, 0)));
    it('of bool counts as int32', () => cases.check('sum_bool', ({ x }) => sum(x, -1)));
    it('of a 0-d tensor over dim 0 (keepdim adds nothing)', () => cases.check('sum_0d', ({ x }) => sum(x, 0, true)));
    it('propagates NaN and inf', () => cases.check('sum_nan', ({ x }) => sum(x, 1)));
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
    it('passes gradcheck', () => expectGradcheck((x) => sum(x, [0, 2], true), cases.inputs('sum_neg_multi', 'x')));
  });

  describe('mean', () => {
    it('over several dims with keepdim', () => cases.check('mean_dims_keepdim', ({ x }) => mean(x, [0, 2], true)));
    it('over all dims', () => cases.check('mean_all', ({ x }) => mean(x)));
    it('of a permuted input along a negative dim', () => cases.check('mean_noncontig_neg', ({ x }) => mean(permute(x, 2, 0, 1), -1)));
    it('over an empty dim is NaN', () => cases.check('mean_empty', ({ x }) => mean(x, 0)));
    it('rejects integer input like PyTorch', () => {
      const x = tensor([1, 2], { dtype: 'int32' });
      expect(() => mean(x)).toThrow(DTypeError);
      expect(() => mean(x)).toThrow(/mean.*int32/);
      x.dispose();
    });
    it('passes gradcheck', () => expectGradcheck((x) => mean(permute(x, 2, 0, 1), -1), cases.inputs('mean_noncontig_neg', 'x')));
  });

  describe('prod', () => {
    it('along a dim', () => cases.check('prod_dim', ({ x }) => prod(x, 1)));
    it('gives exact gradients with one, two and all zeros in a slice', () => cases.check('prod_zeros', ({ x }) => prod(x, 1)));
    it('of everything with one zero', () => cases.check('prod_all_one_zero', ({ x }) => prod(x)));
    it('along a negative dim with keepdim', () => cases.check('prod_keepdim_neg', ({ x }) => prod(x, -2, true)));
    it('of int32 stays int32', () => cases.check('prod_int', ({ x }) => prod(x, 1)));
    it('over an empty dim is 1', () => cases.check('prod_empty', ({ x }) => prod(x, 1)));
    it('passes gradcheck', () => expectGradcheck((x) => prod(x, -2, true), cases.inputs('prod_keepdim_neg', 'x')));
    it('passes gradcheck around zeros', () => expectGradcheck((x) => prod(x, 1), cases.inputs('prod_zeros', 'x')));
  });

  describe('amax / amin', () => {
    it('split the gradient evenly among ties', () => cases.check('amax_ties', ({ x }) => amax(x, 1)));
    it('over several dims with keepdim', () => cases.check('amax_multi_keepdim', ({ x }) => amax(x, [0, 2], true)));
    it('amin along a negative dim', () => cases.check('amin_neg', ({ x }) => amin(x, -1)));
    it('amin over all dims with ties', () => cases.check('amin_all_ties', ({ x }) => amin(x)));
    it('of a non-contiguous input', () => cases.check('amax_noncontig', ({ x }) => amax(transpose(x, 0, 1), 0)));
    it('propagate NaN (values and gradient, as PyTorch)', () => cases.check('amax_nan', ({ x }) => amax(x, 1)));
    it('of int32', () => cases.check('amax_int', ({ x }) => amax(x, 0)));
    it('of bool', async () => {
      await cases.check('amax_bool', ({ x }) => amax(x, 1));
      await cases.check('amin_bool', ({ x }) => amin(x, 1));
    });
    it('reject reducing an empty dim', () => {
      const x = zeros([2, 0]);
      expect(() => amax(x, 1)).toThrow(ShapeError);
      expect(() => amin(x)).toThrow(/size 0/);
      x.dispose();
    });
    it('pass gradcheck', async () => {
      await expectGradcheck((x) => amax(x, [0, 2], true), [spread([2, 3, 4], 7)]);
      await expectGradcheck((x) => amin(x, -1), [spread([3, 4], 5)]);
    });
  });

  describe('max / min', () => {
    it('of everything split the gradient among ties', () => cases.check('max_all_ties', ({ x }) => max(x)));
    it('min of everything', () => cases.check('min_all', ({ x }) => min(x)));
    it('along a dim give values and indices, gradient to the index', () => cases.check('max_dim', ({ x }) => pair(max(x, 1))));
    it('pick the first of tied values, with keepdim', () => cases.check('max_dim_keepdim_ties', ({ x }) => pair(max(x, 1, true))));
    it('min along a negative dim', () => cases.check('min_dim_neg', ({ x }) => pair(min(x, -2))));
    it('of a non-contiguous input', () => cases.check('max_dim_noncontig', ({ x }) => pair(max(transpose(x, 0, 1), 1))));
    it('propagate NaN and point at it', () => cases.check('max_dim_nan', ({ x }) => pair(max(x, 1))));
    it('of int32 and bool', async () => {
      await cases.check('max_dim_int', ({ x }) => pair(max(x, 0)));
      await cases.check('min_dim_bool', ({ x }) => pair(min(x, 1)));
    });
    it('of a 0-d tensor', () => cases.check('max_0d', ({ x }) => pair(max(x, 0))));
    it('along a non-empty dim of an empty tensor', () => cases.check('max_empty_other_dim', ({ x }) => pair(max(x, 1))));
    it('reject an empty input or dim', () => {
      const x = zeros([0, 3]);
      expect(() => max(x)).toThrow(ShapeError);
      expect(() => min(x, 0)).toThrow(/size 0/);
      x.dispose();
    });
    it('pass gradcheck', async () => {
      await expectGradcheck((x) => max(x), [spread([3, 4], 5)]);
      await expectGradcheck((x) => max(x, 1).values, [spread([3, 4], 7)]);
      await expectGradcheck((x) => min(transpose(x, 0, 1), -1, true).values, [spread([4, 3], 5)]);
    });
  });

  describe('argmax / argmin', () => {
    it('over the flattened tensor', () => cases.check('argmax_flat', ({ x }) => argmax(x)));
    it('over the flattened tensor with keepdim', () => cases.check('argmax_flat_keepdim', ({ x }) => argmax(x, undefined, true)));
    it('along a dim', () => cases.check('argmax_dim', ({ x }) => argmax(x, 1)));
    it('give the first occurrence on ties', () => cases.check('argmax_ties', ({ x }) => argmax(x, -1)));
    it('argmin along dim 0 with keepdim', () => cases.check('argmin_dim0_keepdim', ({ x }) => argmin(x, 0, true)));
    it('argmin on ties of a non-contiguous input', () => cases.check('argmin_ties_noncontig', ({ x }) => argmin(transpose(x, 0, 1), 1)));
    it('count NaN as the max', () => cases.check('argmax_nan', ({ x }) => argmax(x, 1)));
    it('of int32', () => cases.check('argmax_int', ({ x }) => argmax(x, 1)));
    it('of a 0-d tensor', () => cases.check('argmax_0d', ({ x }) => argmax(x, 0)));
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
    it('var over everything (unbiased)', () => cases.check('var_all', ({ x }) => variance(x)));
    it('var along a dim, correction 0, keepdim', () =>
      cases.check('var_dim_correction0_keepdim', ({ x }) => variance(x, { dim: 1, correction: 0, keepdim: true })));
    it('var over several dims', () => cases.check('var_multi_neg', ({ x }) => variance(x, { dim: [0, -1] })));
    it('var of a non-contiguous input', () => cases.check('var_noncontig', ({ x }) => variance(transpose(x, 0, 1), { dim: 1 })));
    it('var of one element is NaN', () => cases.check('var_single', ({ x }) => variance(x, { dim: 1 })));
    it('std over everything', () => cases.check('std_all', ({ x }) => std(x)));
    it('std along a dim, correction 0', () => cases.check('std_dim_correction0', ({ x }) => std(x, { dim: 0, correction: 0 })));
    it('std over several dims with keepdim', () => cases.check('std_multi_keepdim', ({ x }) => std(x, { dim: [1, 2], keepdim: true })));
    it('std of a constant slice has zero gradient', () => cases.check('std_constant', ({ x }) => std(x, { dim: 1 })));
    it('reject integer input', () => {
      const x = tensor([1, 2], { dtype: 'int32' });
      expect(() => variance(x)).toThrow(DTypeError);
      expect(() => std(x)).toThrow(DTypeError);
      x.dispose();
    });
    it('pass gradcheck', async () => {
      await expectGradcheck((x) => variance(x, { dim: [0, -1] }), cases.inputs('var_multi_neg', 'x'));
      await expectGradcheck((x) => variance(x, { dim: 1, correction: 0, keepdim: true }), cases.inputs('var_dim_correction0_keepdim', 'x'));
      await expectGradcheck((x) => std(x, { dim: [1, 2], keepdim: true }), cases.inputs('std_multi_keepdim', 'x'));
    });
  });

  describe('logsumexp', () => {
    it('along a dim', () => cases.check('logsumexp_dim', ({ x }) => logsumexp(x, 1)));
    it('over several dims with keepdim', () => cases.check('logsumexp_multi_keepdim', ({ x }) => logsumexp(x, [0, 2], true)));
    it('is stable for large magnitudes', () => cases.check('logsumexp_large', ({ x }) => logsumexp(x, -1), { atol: 1e-3 }));
    it('gives -inf for all -inf slices, inf for inf, NaN for NaN', () => cases.check('logsumexp_neg_inf', ({ x }) => logsumexp(x, 1)));
    it('over an empty dim is -inf', () => cases.check('logsumexp_empty', ({ x }) => logsumexp(x, 1)));
    it('promotes int32 to float32', () => cases.check('logsumexp_int', ({ x }) => logsumexp(x, 0)));
    it('of a non-contiguous input', () => cases.check('logsumexp_noncontig', ({ x }) => logsumexp(transpose(x, 0, 1), 1)));
    it('passes gradcheck', () => expectGradcheck((x) => logsumexp(x, [0, 2], true), cases.inputs('logsumexp_multi_keepdim', 'x')));
  });

  describe('any / all', () => {
    it('any along a dim of float input', () => cases.check('any_dim', ({ x }) => any(x, 1)));
    it('all along dim 0 of int input with keepdim', () => cases.check('all_dim_keepdim', ({ x }) => all(x, 0, true)));
    it('any of bool over everything', () => cases.check('any_all_bool', ({ x }) => any(x)));
    it('all counts NaN as true', () => cases.check('all_nan_is_true', ({ x }) => all(x)));
    it('of empty tensors are false / true', async () => {
      await cases.check('any_empty', ({ x }) => any(x));
      await cases.check('all_empty', ({ x }) => all(x));
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
