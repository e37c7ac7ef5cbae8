/**
 * Matrix products: matmul (torch.matmul's rank rules, broadcast batches, transposed
 * operands), linear (fused kernel and composed path), einsum. Values and gradients against
 * PyTorch (cases/reduce_matmul.json), gradchecks, fused-vs-composed equality, and errors.
 */
import {
  DTypeError,
  LINEAR_ACTIVATIONS,
  ShapeError,
  type Tensor,
  add,
  einsum,
  gradients,
  linear,
  matmul,
  memory,
  sum,
  tensor,
  tidy,
  transpose,
  zeros,
} from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import { type SuiteContext, expectTensor } from '../context.js';
import { reduceMatmulCases as cases } from '../cases.js';
import {
  expectFusedMatchesComposed,
  expectFusedMatchesComposedNoGrad,
  expectFusedMatchesComposedSecondOrder,
  expectGradcheck,
  seededHostInputs,
  useUnfusedBackend,
} from '../checks.js';

/** Registers the tests of this area. */
export function opsMatmulSuite(ctx: SuiteContext): void {
  describe('matmul', () => {
    it('1-D · 1-D is a 0-d dot product', () => cases.check('matmul_dot', ({ a, b }) => matmul(a, b)));
    it('1-D · 2-D drops the prepended dim', () => cases.check('matmul_vec_mat', ({ a, b }) => matmul(a, b)));
    it('2-D · 1-D drops the appended dim', () => cases.check('matmul_mat_vec', ({ a, b }) => matmul(a, b)));
    it('2-D · 2-D', () => cases.check('matmul_2d', ({ a, b }) => matmul(a, b)));
    it('3-D · 3-D (batched)', () => cases.check('matmul_3d', ({ a, b }) => matmul(a, b)));
    it('broadcasts batch dims and sums their gradients', () => cases.check('matmul_broadcast', ({ a, b }) => matmul(a, b)));
    it('3-D · 2-D', () => cases.check('matmul_3d_2d', ({ a, b }) => matmul(a, b)));
    it('3-D · 1-D', () => cases.check('matmul_3d_vec', ({ a, b }) => matmul(a, b)));
    it('1-D · 3-D', () => cases.check('matmul_vec_3d', ({ a, b }) => matmul(a, b)));
    it('of transposed (non-contiguous) operands', () =>
      cases.check('matmul_transposed', ({ a, b }) => matmul(transpose(a, 0, 1), transpose(b, 0, 1))));
    it('of a batch-transposed operand', () => cases.check('matmul_batch_transposed', ({ a, b }) => matmul(a, transpose(b, -1, -2))));
    it('with K = 0 gives zeros', () => cases.check('matmul_empty_k', ({ a, b }) => matmul(a, b)));
    it('with M = 0 gives an empty result', () => cases.check('matmul_empty_m', ({ a, b }) => matmul(a, b)));
    it('of int32 operands', () => cases.check('matmul_int', ({ a, b }) => matmul(a, b)));
    it('passes gradcheck (2-D, broadcast batch, vector, transposed)', async () => {
      await expectGradcheck((a, b) => matmul(a, b), cases.inputs('matmul_2d', 'a', 'b'));
      await expectGradcheck((a, b) => matmul(a, b), cases.inputs('matmul_broadcast', 'a', 'b'));
      await expectGradcheck((a, b) => matmul(a, b), cases.inputs('matmul_vec_3d', 'a', 'b'));
      await expectGradcheck((a, b) => matmul(a, b), cases.inputs('matmul_dot', 'a', 'b'));
      await expectGradcheck((a, b) => matmul(transpose(a, 0, 1), transpose(b, 0, 1)), cases.inputs('matmul_transposed', 'a', 'b'));
    });
    it('supports double backward', async () => {
      // d/da sum((a @ b)^2-ish): grad of sum(grad_a) through createGraph equals PyTorch's identity.
      const a = tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { requiresGrad: true },
      );
      const b = tensor(
        [
          [0.5, -1],
          [2, 0.25],
        ],
        { requiresGrad: true },
      );
      const [ga] = tidy(() => gradients(sum(matmul(a, b)), [a], null, { createGraph: true }));
      // ga[i][k] = sum_j b[k][j]: its gradient w.r.t. b is all ones times rows of a's count (2).
      const [gb] = gradients(sum(ga as Tensor), [b]);
      await expectTensor(gb as Tensor, [
        [2, 2],
        [2, 2],
      ]);
      for (const t of [a, b, ga as Tensor, gb as Tensor]) t.dispose();
    });
    it('of stacked operands against one matrix equals the per-batch products (batch dims merged, split, permuted)', async () => {
      // [..., M, K] @ [K, N] may run as one [batch*M, K] GEMM when the batch dims merge with M;
      // each layout below must give the products of the 2-D slices, in the batch order.
      const [x, w] = seededHostInputs([
        [3, 4, 2, 5],
        [5, 3],
      ]).map((h) => tensor(h.data).reshape(h.shape));
      const made: Tensor[] = [];
      const keep = (t: Tensor) => {
        made.push(t);
        return t;
      };
      const layouts = [
        x, // contiguous
        keep(x.permute([1, 0, 2, 3])), // batch dims permuted
        keep(x.transpose(1, 2)), // rows and a batch dim swapped
        keep(x.narrow(0, 1, 1)), // a size-1 batch dim
        keep(x.narrow(1, 1, 2)), // a strided slice
      ];
      for (const a of layouts) {
        const want: number[] = [];
        const [b0, b1] = a.shape;
        for (let i = 0; i < b0; i++) {
          for (let j = 0; j < b1; j++) want.push(...(await keep(matmul(keep(keep(a.select(0, i)).select(0, j)), w)).data()));
        }
        await expectTensor(keep(matmul(a, w)), want, { shape: [...a.shape.slice(0, 3), 3] });
      }
      for (const t of made) t.dispose();
      for (const t of [x, w]) t.dispose();
    });
    it('rejects bad shapes and dtypes, naming them', () => {
      const a = zeros([2, 3]);
      const b = zeros([4, 5]);
      const s = zeros([]);
      const c = zeros([2, 3, 4]);
      const d = zeros([3, 4, 5]);
      const i = zeros([3, 4], { dtype: 'int32' });
      expect(() => matmul(a, b)).toThrow(/\[2, 3\] and \[4, 5\].*3 vs 4/);
      expect(() => matmul(s, a)).toThrow(/at least 1 dimension/);
      expect(() => matmul(c, d)).toThrow(ShapeError);
      expect(() => matmul(a, i)).toThrow(DTypeError);
      for (const t of [a, b, s, c, d, i]) t.dispose();
    });
  });

  describe('linear', () => {
    it('with bias', () => cases.check('linear_bias', ({ x, w, b }) => linear(x, w, b)));
    it('of a 3-D input', () => cases.check('linear_3d', ({ x, w, b }) => linear(x, w, b)));
    it('without bias', () => cases.check('linear_no_bias', ({ x, w }) => linear(x, w)));
    it('of a 1-D input', () => cases.check('linear_1d', ({ x, w, b }) => linear(x, w, b)));
    it('of a non-contiguous input', () => cases.check('linear_noncontig', ({ x, w, b }) => linear(transpose(x, 0, 1), w, b)));
    it('passes gradcheck', async () => {
      await expectGradcheck((x, w, b) => linear(x, w, b), cases.inputs('linear_3d', 'x', 'w', 'b'));
      await expectGradcheck((x, w) => linear(x, w), cases.inputs('linear_no_bias', 'x', 'w'));
      await expectGradcheck((x, w, b) => linear(x, w, b), cases.inputs('linear_1d', 'x', 'w', 'b'));
    });
    it('rejects mismatched features, naming the shapes', () => {
      const x = zeros([2, 3]);
      const w = zeros([4, 2]);
      expect(() => linear(x, w)).toThrow(/\[2, 3\].*\[4, 2\]/);
      for (const t of [x, w]) t.dispose();
    });
    it('leaves no buffers behind after forward and backward', () => {
      const x = tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { requiresGrad: true },
      );
      const w = tensor(
        [
          [0.5, -1, 2],
          [1, 0, -0.5],
        ],
        { requiresGrad: true },
      );
      const b = tensor([0.1, -0.2], { requiresGrad: true });
      const before = memory().buffers;
      const grads = tidy(() => gradients(sum(add(linear(x, w, b), matmul(x, transpose(w, 0, 1)))), [x, w, b]));
      for (const g of grads) g?.dispose();
      expect(memory().buffers).toBe(before);
      for (const t of [x, w, b]) t.dispose();
    });
  });

  describe('linear: fused and composed paths agree', () => {
    const unfused = useUnfusedBackend(ctx);
    it('with bias, 3-D input', () =>
      expectFusedMatchesComposed(ctx, unfused, cases.hostInputs('linear_3d', 'x', 'w', 'b'), (x, w, b) => linear(x, w, b)));
    it('without bias', () =>
      expectFusedMatchesComposed(ctx, unfused, cases.hostInputs('linear_no_bias', 'x', 'w'), (x, w) => linear(x, w)));
    it('1-D input', () =>
      expectFusedMatchesComposed(ctx, unfused, cases.hostInputs('linear_1d', 'x', 'w', 'b'), (x, w, b) => linear(x, w, b)));
    it('non-contiguous input', () =>
      expectFusedMatchesComposed(ctx, unfused, cases.hostInputs('linear_noncontig', 'x', 'w', 'b'), (x, w, b) =>
        linear(transpose(x, 0, 1), w, b),
      ));
    // The activation epilogue: values and gradients (autograd on) and values under noGrad
    // (where every activation runs inside the fused kernel), small and GEMM-sized
    // (8 x 40 x 36 multiply-adds: the CPU backend's wasm GEMM), 3-D and non-contiguous.
    for (const activation of LINEAR_ACTIVATIONS) {
      it(`with activation '${activation}', values and gradients`, () =>
        expectFusedMatchesComposed(ctx, unfused, cases.hostInputs('linear_3d', 'x', 'w', 'b'), (x, w, b) =>
          linear(x, w, b, { activation }),
        ));
      it(`with activation '${activation}', GEMM-sized, values and gradients`, () =>
        expectFusedMatchesComposed(
          ctx,
          unfused,
          seededHostInputs([[2, 4, 40], [36, 40], [36]], 21, 0.5),
          (x, w, b) => linear(x, w, b, { activation }),
          1e-4,
        ));
      it(`with activation '${activation}', no grad`, async () => {
        await expectFusedMatchesComposedNoGrad(
          ctx,
          unfused,
          seededHostInputs([[8, 40], [36, 40], [36]], 22, 0.5),
          (x, w, b) => linear(x, w, b, { activation }),
          1e-4,
        );
        await expectFusedMatchesComposedNoGrad(
          ctx,
          unfused,
          seededHostInputs(
            [
              [3, 5],
              [4, 3],
            ],
            23,
            2,
          ),
          (x, w) => linear(transpose(x, 0, 1), w, null, { activation }),
        );
      });
    }
    it('with an activation, second derivatives', () =>
      expectFusedMatchesComposedSecondOrder(ctx, unfused, cases.hostInputs('linear_3d', 'x', 'w', 'b'), (x, w, b) =>
        linear(x, w, b, { activation: 'tanh' }),
      ));
    it('rejects an unknown activation', () => {
      const x = zeros([2, 3]);
      const w = zeros([4, 3]);
      expect(() => linear(x, w, null, { activation: 'softmax' as 'relu' })).toThrow(/activation must be one of/);
      for (const t of [x, w]) t.dispose();
    });
  });

  describe('einsum', () => {
    it("'ij,jk->ik' (matmul)", () => cases.check('einsum_matmul', ({ a, b }) => einsum('ij,jk->ik', a, b)));
    it("'bij,bjk->bik' (batched)", () => cases.check('einsum_bmm', ({ a, b }) => einsum('bij,bjk->bik', a, b)));
    it("'bhqd,bhkd->bhqk' (attention scores)", () => cases.check('einsum_attention', ({ q, k }) => einsum('bhqd,bhkd->bhqk', q, k)));
    it("'i,i->' (dot)", () => cases.check('einsum_dot', ({ a, b }) => einsum('i,i->', a, b)));
    it("'ij->ji' (transpose)", () => cases.check('einsum_transpose', ({ a }) => einsum('ij->ji', a)));
    it("'bi,bi->b' (row dots)", () => cases.check('einsum_rowdot', ({ a, b }) => einsum('bi,bi->b', a, b)));
    it("'i,j->ij' (outer)", () => cases.check('einsum_outer', ({ a, b }) => einsum('i,j->ij', a, b)));
    it("implicit output 'ij,jk'", () => cases.check('einsum_implicit', ({ a, b }) => einsum('ij,jk', a, b)));
    it("'ij->' (sum)", () => cases.check('einsum_sum_all', ({ a }) => einsum('ij->', a)));
    it('three operands', () => cases.check('einsum_three', ({ a, b, c }) => einsum('ij,jk,kl->il', a, b, c)));
    it('sums an index only one operand has', () => cases.check('einsum_sum_free', ({ a, b }) => einsum('ijk,jl->il', a, b)));
    it('permutes the output', () => cases.check('einsum_permute_out', ({ a, b }) => einsum('bij,bjk->kib', a, b)));
    it('accepts spaces', async () => {
      const a = tensor([
        [1, 2],
        [3, 4],
      ]);
      const y = einsum(' ij , jk -> ik ', a, a);
      await expectTensor(y, [
        [7, 10],
        [15, 22],
      ]);
      for (const t of [a, y]) t.dispose();
    });
    it('passes gradcheck', async () => {
      await expectGradcheck((q, k) => einsum('bhqd,bhkd->bhqk', q, k), cases.inputs('einsum_attention', 'q', 'k'));
      await expectGradcheck((a, b, c) => einsum('ij,jk,kl->il', a, b, c), cases.inputs('einsum_three', 'a', 'b', 'c'));
      await expectGradcheck((a, b) => einsum('ijk,jl->il', a, b), cases.inputs('einsum_sum_free', 'a', 'b'));
      await expectGradcheck((a, b) => einsum('i,j->ij', a, b), cases.inputs('einsum_outer', 'a', 'b'));
    });
    it('rejects unsupported or malformed equations, naming the equation', () => {
      const a = zeros([2, 2]);
      const b = zeros([3, 2]);
      expect(() => einsum('ii->i', a)).toThrow(/einsum\('ii->i'\).*repeats/);
      expect(() => einsum('...ij->ij', a)).toThrow(/einsum\('\.\.\.ij->ij'\).*ellipsis/);
      expect(() => einsum('ij,jk->ik', a)).toThrow(/einsum\('ij,jk->ik'\).*2 operand/);
      expect(() => einsum('ijk->i', a)).toThrow(/operand 0 has 3 indices/);
      expect(() => einsum('ij->ix', a)).toThrow(/'x' does not appear/);
      expect(() => einsum('ij,ij->i', a, b)).toThrow(/index 'i' has size 2.*3/);
      for (const t of [a, b]) t.dispose();
    });
  });
}
