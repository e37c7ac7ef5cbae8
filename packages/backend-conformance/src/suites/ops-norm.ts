/**
 * Normalisation-style ops: softmax, logSoftmax, logSoftmaxGather, layerNorm, the pointwise LSTM / GRU cell
 * steps and scaled dot-product attention. Values and gradients against PyTorch
 * (cases/reduce_matmul.json), gradchecks, and equality of the fused-kernel path with the
 * composed path (values and gradients).
 */
import {
  DTypeError,
  DisposedTensorError,
  IndexError,
  attention,
  ShapeError,
  type Tensor,
  gradients,
  gruCellStep,
  layerNorm,
  loadBackend,
  gather,
  logSoftmax,
  logSoftmaxGather,
  lstmCellStep,
  memory,
  mul,
  softmax,
  sum,
  tensor,
  tidy,
  transpose,
  zeros,
  zerosLike,
} from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import { type SuiteContext, expectTensor } from '../context.js';
import { reduceMatmulCases as cases, weightedLoss } from '../cases.js';
import {
  expectFusedMatchesComposed,
  expectFusedMatchesComposedSecondOrder,
  expectGradcheck,
  seededHostInputs,
  useBackendWithout,
  useCountingBackend,
  useUnfusedBackend,
} from '../checks.js';
import { recurrentSequenceTests } from './recurrent-sequence.js';

/** Registers the tests of this area. */
export function opsNormSuite(ctx: SuiteContext): void {
  describe('softmax', () => {
    it('along dim 1', () => cases.check('softmax_dim1', ({ x }) => softmax(x, 1)));
    it('along dim 0', () => cases.check('softmax_dim0', ({ x }) => softmax(x, 0)));
    it('along a negative middle dim of a 3-D input', () => cases.check('softmax_3d_neg', ({ x }) => softmax(x, -2)));
    it('of a non-contiguous input', () => cases.check('softmax_noncontig', ({ x }) => softmax(transpose(x, 0, 1), -1)));
    it('is stable for large magnitudes', () => cases.check('softmax_large', ({ x }) => softmax(x, -1)));
    it('gives 0 at -inf (masking)', () => cases.check('softmax_masked', ({ x }) => softmax(x, -1)));
    it('of an all -inf row is NaN, like PyTorch', () => cases.check('softmax_all_neg_inf', ({ x }) => softmax(x, -1)));
    it('of a 0-d tensor is 1', () => cases.check('softmax_0d', ({ x }) => softmax(x, 0)));
    it('of an empty tensor is empty', async () => {
      const x = zeros([2, 0]);
      const y = softmax(x, 1);
      await expectTensor(y, [], { shape: [2, 0] });
      for (const t of [x, y]) t.dispose();
    });
    it('passes gradcheck', async () => {
      await expectGradcheck((x) => softmax(x, -2), cases.inputs('softmax_3d_neg', 'x'));
      await expectGradcheck((x) => softmax(transpose(x, 0, 1), -1), cases.inputs('softmax_noncontig', 'x'));
    });
    it('rejects integer input and a bad dim', () => {
      const i = tensor([1, 2], { dtype: 'int32' });
      const x = zeros([2, 3]);
      expect(() => softmax(i, 0)).toThrow(DTypeError);
      expect(() => softmax(x, 2)).toThrow(ShapeError);
      for (const t of [i, x]) t.dispose();
    });
  });

  describe('logSoftmax', () => {
    it('along dim 1', () => cases.check('log_softmax_dim1', ({ x }) => logSoftmax(x, 1)));
    it('along dim 0 of a 3-D input', () => cases.check('log_softmax_3d_dim0', ({ x }) => logSoftmax(x, 0)));
    it('of a non-contiguous input', () => cases.check('log_softmax_noncontig', ({ x }) => logSoftmax(transpose(x, 0, 1), 1)));
    it('is stable for large magnitudes', () => cases.check('log_softmax_large', ({ x }) => logSoftmax(x, -1), { atol: 1e-3 }));
    it('gives -inf at -inf', () => cases.check('log_softmax_masked', ({ x }) => logSoftmax(x, -1)));
    it('passes gradcheck', async () => {
      await expectGradcheck((x) => logSoftmax(x, 0), cases.inputs('log_softmax_3d_dim0', 'x'));
      await expectGradcheck((x) => logSoftmax(transpose(x, 0, 1), 1), cases.inputs('log_softmax_noncontig', 'x'));
    });
    it('support double backward (PyTorch values)', async () => {
      const x = tensor([[0.3, -1.2, 2.0]], { requiresGrad: true });
      const w = tensor([[1, -2, 0.5]]);
      const cases: [(v: Tensor) => Tensor, number[]][] = [
        [(v) => logSoftmax(v, 1), [0.035470568, -0.093970515, 0.058499929]],
        [(v) => softmax(v, 1), [0.00556257, 0.01531445, -0.02087702]],
      ];
      for (const [op, want] of cases) {
        const g2 = tidy(() => {
          const [g] = gradients(sum(op(x).mul(w)), [x], null, { createGraph: true });
          return gradients(sum((g as Tensor).mul(g as Tensor)), [x])[0] as Tensor;
        });
        await expectTensor(g2, [want], { atol: 1e-5, rtol: 1e-4 });
        g2.dispose();
      }
      for (const t of [x, w]) t.dispose();
    });
  });

  describe('layerNorm', () => {
    it('with weight and bias over the last dim', () => cases.check('layer_norm_affine', ({ x, w, b }) => layerNorm(x, [4], w, b)));
    it('over the last two dims', () => cases.check('layer_norm_2d_shape', ({ x, w, b }) => layerNorm(x, [3, 4], w, b)));
    it('without weight and bias', () => cases.check('layer_norm_plain', ({ x }) => layerNorm(x, [5])));
    it('with weight only and a custom eps', () => cases.check('layer_norm_eps', ({ x, w }) => layerNorm(x, [3], w, null, 0.1)));
    it('of a non-contiguous input', () => cases.check('layer_norm_noncontig', ({ x, w, b }) => layerNorm(transpose(x, 0, 1), [3], w, b)));
    it('of a 1-D input', () => cases.check('layer_norm_1d', ({ x, w, b }) => layerNorm(x, [4], w, b)));
    it('passes gradcheck', async () => {
      await expectGradcheck((x, w, b) => layerNorm(x, [3, 4], w, b), cases.inputs('layer_norm_2d_shape', 'x', 'w', 'b'));
      await expectGradcheck((x, w) => layerNorm(x, [3], w, null, 0.1), cases.inputs('layer_norm_eps', 'x', 'w'));
      await expectGradcheck((x) => layerNorm(x, [5]), cases.inputs('layer_norm_plain', 'x'));
    });
    it('supports double backward (PyTorch values)', async () => {
      const x = tensor(
        [
          [0.3, -1.2, 2.0],
          [1, 0.5, -0.5],
        ],
        { requiresGrad: true },
      );
      const lw = tensor([0.5, 1.5, -1], { requiresGrad: true });
      const w = tensor([[1, -2, 0.5]]);
      const [gx, gw] = tidy(() => {
        const [g] = gradients(sum(layerNorm(x, [3], lw).mul(w)), [x], null, { createGraph: true });
        return gradients(sum((g as Tensor).mul(g as Tensor)), [x, lw]) as Tensor[];
      });
      await expectTensor(
        gx,
        [
          [-1.3074298, 2.0143998, -0.70697004],
          [-20.439207, -2.4925241, 22.931734],
        ],
        { atol: 1e-3, rtol: 1e-3 },
      );
      await expectTensor(gw, [8.79352, 22.865723, 1.3196704], { atol: 1e-3, rtol: 1e-3 });
      for (const t of [x, lw, w, gx, gw]) t.dispose();
    });
    it('rejects mismatched shapes and dtypes, naming them', () => {
      const x = zeros([2, 3]);
      const w = zeros([4]);
      const i = zeros([2, 3], { dtype: 'int32' });
      expect(() => layerNorm(x, [4])).toThrow(/\[2, 3\].*\[4\]/);
      expect(() => layerNorm(x, [3], w)).toThrow(/weight must have shape \[3\], got \[4\]/);
      expect(() => layerNorm(i, [3])).toThrow(DTypeError);
      for (const t of [x, w, i]) t.dispose();
    });
  });

  describe('recurrent cell steps', () => {
    // PyTorch's cases give the gate sums; halves of them (exact in float32) as gi and gh.
    it('lstmCellStep matches PyTorch (i, f, g, o)', () =>
      cases.check('lstm_cell', ({ gates, c }) => lstmCellStep(mul(gates, 0.5), mul(gates, 0.5), c)));
    it('lstmCellStep with saturated gates', () =>
      cases.check('lstm_cell_wide', ({ gates, c }) => lstmCellStep(mul(gates, 0.5), mul(gates, 0.5), c)));
    it('gruCellStep matches PyTorch (r, z, n)', () => cases.check('gru_cell', ({ gi, gh, h }) => gruCellStep(gi, gh, h)));
    it('gruCellStep with a wider hidden state', () => cases.check('gru_cell_wide', ({ gi, gh, h }) => gruCellStep(gi, gh, h)));
    it('pass gradcheck', async () => {
      const [gates, c] = cases.inputs('lstm_cell', 'gates', 'c');
      const split = tidy(() => [mul(gates, 0.3), mul(gates, 0.7)]);
      await expectGradcheck((gi, gh, cc) => lstmCellStep(gi, gh, cc), [...split, c]);
      for (const t of [gates, ...split]) t.dispose();
      await expectGradcheck((gi, gh, h) => gruCellStep(gi, gh, h), cases.inputs('gru_cell', 'gi', 'gh', 'h'));
    });
    it('give a gradient to c from h alone', async () => {
      const [gates, c] = cases.inputs('lstm_cell', 'gates', 'c');
      const [h] = lstmCellStep(gates, zerosLike(gates), c);
      const [gc] = gradients(sum(h), [c]);
      expect(gc?.shape).toEqual([3, 2]);
      for (const t of [gates, c, h, gc as Tensor]) t.dispose();
    });
    it('reject mismatched shapes, naming them', () => {
      const g = zeros([2, 8]);
      const c = zeros([2, 3]);
      const h = zeros([2, 2]);
      expect(() => lstmCellStep(g, g, c)).toThrow(/gi must be \[2, 12\].*\[2, 8\]/);
      expect(() => gruCellStep(g, g, h)).toThrow(/gi must be \[2, 6\]/);
      expect(() => lstmCellStep(zeros([8]), zeros([8]), zeros([2]))).toThrow(ShapeError);
      for (const t of [g, c, h]) t.dispose();
    });
  });

  describe('logSoftmaxGather', () => {
    const FUSED = ['logSoftmaxGather', 'logSoftmaxGatherBackward'];
    const composedOnly = useBackendWithout(ctx, FUSED);
    const counting = useCountingBackend(ctx);
    /** Seeded class indices in [0, classes) for `shape` (its dim 1 is 1), the first row's 0 and the last row's C - 1. */
    const indexOf = (shape: number[], classes: number, device?: string): Tensor => {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: n }, (_, i) => (i === 0 ? 0 : i === n - 1 ? classes - 1 : (i * 7919) % classes));
      return tensor(values, { shape, dtype: 'int32', device });
    };
    /** `logSoftmaxGather(x, index)` for a float host input, the index made on the input's device. */
    const picks = (shape: number[]) => (x: Tensor) => logSoftmaxGather(x, indexOf(shape, x.shape[1], x.device));

    it('equals logSoftmax then gather, [N, C] and [N, C, d]', async () => {
      for (const [shape, ishape] of [
        [
          [4, 5],
          [4, 1],
        ],
        [
          [2, 3, 4],
          [2, 1, 4],
        ],
      ]) {
        const [host] = seededHostInputs([shape], 3, 4);
        const x = tensor(host.data, { shape });
        const index = indexOf(ishape, shape[1]);
        const got = logSoftmaxGather(x, index);
        const want = gather(logSoftmax(x, 1), 1, index);
        expect(got.shape).toEqual(ishape);
        await expectTensor(got, Array.from(await want.data()), { shape: ishape, atol: 1e-6, rtol: 1e-6 });
        for (const t of [x, index, got, want]) t.dispose();
      }
    });
    it('passes gradcheck, [N, C] and [N, C, d]', async () => {
      await expectGradcheck(picks([3, 1]), [tensor(seededHostInputs([[3, 5]], 4)[0].data, { shape: [3, 5], requiresGrad: true })]);
      await expectGradcheck(picks([2, 1, 3]), [tensor(seededHostInputs([[2, 4, 3]], 5)[0].data, { shape: [2, 4, 3], requiresGrad: true })]);
    });
    // With the fused kernels (where the backend has them) against the composition, values and
    // gradients: small, then past the CPU backend's wasm threshold with odd class counts.
    for (const [shape, seed, scale] of [
      [[5, 7], 6, 3],
      [[1, 1], 7, 3],
      [[3, 1031], 8, 8],
      [[130, 17], 9, 30],
    ] as [number[], number, number][]) {
      it(`fused and composed agree, [${shape.join(', ')}]`, () =>
        expectFusedMatchesComposed(ctx, composedOnly, seededHostInputs([shape], seed, scale), picks([shape[0], 1])));
    }
    it('fused and composed agree at large logits (1e30)', () =>
      expectFusedMatchesComposed(ctx, composedOnly, seededHostInputs([[4, 9]], 10, 1e30), picks([4, 1]), 1e-4));
    it('twice differentiable under createGraph (the recorded rule, not a fused backward)', () =>
      expectFusedMatchesComposedSecondOrder(ctx, composedOnly, seededHostInputs([[2, 3]], 11), picks([2, 1])));
    it('one call of each fused kernel where the backend has them, none under createGraph', async () => {
      const base = await loadBackend(ctx.device);
      const has = FUSED.map((k) => typeof (base.fused as Record<string, unknown>)[k] === 'function');
      counting.calls.clear();
      tidy(() => {
        const x = tensor(seededHostInputs([[4, 6]], 12)[0].data, { shape: [4, 6], device: counting.name, requiresGrad: true });
        const loss = sum(picks([4, 1])(x));
        gradients(loss, [x]);
        expect(FUSED.map((k) => counting.calls.get(k) ?? 0)).toEqual(has.map((h) => (h ? 1 : 0)));
        counting.calls.clear();
        const [g] = gradients(sum(picks([4, 1])(x)), [x], null, { createGraph: true });
        gradients(sum(mul(g as Tensor, g as Tensor)), [x]);
        expect(counting.calls.get('logSoftmaxGatherBackward') ?? 0).toBe(0);
      });
    });
    it('rejects bad dtypes, shapes, out-of-range classes and disposed tensors, naming them', () =>
      tidy(() => {
        const x = zeros([2, 3]);
        const index = tensor([[0], [2]], { dtype: 'int32' });
        expect(() => logSoftmaxGather(tensor([[1, 2]], { dtype: 'int32' }), index)).toThrow(/float32 logits, got int32/);
        expect(() => logSoftmaxGather(x, tensor([[0], [1]]))).toThrow(/int32 index, got float32/);
        expect(() => logSoftmaxGather(zeros([3]), index)).toThrow(ShapeError);
        expect(() => logSoftmaxGather(x, tensor([0, 1], { dtype: 'int32' }))).toThrow(/index must be \[2, 1\].*got \[2\]/);
        expect(() =>
          logSoftmaxGather(
            x,
            tensor(
              [
                [0, 1],
                [1, 0],
              ],
              { dtype: 'int32' },
            ),
          ),
        ).toThrow(/index must be \[2, 1\]/);
        if (x.backend.readSync) {
          expect(() => logSoftmaxGather(x, tensor([[0], [3]], { dtype: 'int32' }))).toThrow(IndexError);
          expect(() => logSoftmaxGather(x, tensor([[-1], [0]], { dtype: 'int32' }))).toThrow(/index -1 is out of bounds for 3 classes/);
        }
        const dead = zeros([2, 3]);
        dead.dispose();
        expect(() => logSoftmaxGather(dead, index)).toThrow(DisposedTensorError);
      }));
  });

  describe('fused and composed paths agree', () => {
    const unfused = useUnfusedBackend(ctx);
    it('softmax', () => expectFusedMatchesComposed(ctx, unfused, cases.hostInputs('softmax_3d_neg', 'x'), (x) => softmax(x, -2)));
    it('softmax of a non-contiguous input with -inf', () =>
      expectFusedMatchesComposed(ctx, unfused, [{ data: [1, Number.NEGATIVE_INFINITY, 2, 0.5, 3, -1], shape: [3, 2] }], (x) =>
        softmax(transpose(x, 0, 1), 1),
      ));
    it('logSoftmax', () => expectFusedMatchesComposed(ctx, unfused, cases.hostInputs('log_softmax_3d_dim0', 'x'), (x) => logSoftmax(x, 0)));
    it('logSoftmax, large values', () =>
      expectFusedMatchesComposed(ctx, unfused, cases.hostInputs('log_softmax_large', 'x'), (x) => logSoftmax(x, -1), 1e-4));
    it('layerNorm with weight and bias', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        cases.hostInputs('layer_norm_2d_shape', 'x', 'w', 'b'),
        (x, w, b) => layerNorm(x, [3, 4], w, b),
        1e-4,
      ));
    it('layerNorm without affine, non-contiguous', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        cases.hostInputs('layer_norm_noncontig', 'x'),
        (x) => layerNorm(transpose(x, 0, 1), [3]),
        1e-4,
      ));
    it('lstmCellStep', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        [...cases.hostInputs('lstm_cell_wide', 'gates', 'c'), ...seededHostInputs([[2, 12]], 5)],
        (g, c, gh) => lstmCellStep(g, gh, c),
      ));
    it('gruCellStep', () =>
      expectFusedMatchesComposed(ctx, unfused, cases.hostInputs('gru_cell_wide', 'gi', 'gh', 'h'), (gi, gh, h) => gruCellStep(gi, gh, h)));
    // Big enough (>= 1024 state elements) for the CPU backend's wasm kernels, with a hidden
    // size that is not a multiple of 4 (vector tails). Gradients come from the fused
    // lstmCellBackward / gruCellBackward kernels where the backend has them.
    it('lstmCellStep backward, large with tails', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        seededHostInputs(
          [
            [4, 4 * 259],
            [4, 4 * 259],
            [4, 259],
          ],
          7,
          3,
        ),
        (gi, gh, c) => lstmCellStep(gi, gh, c),
        1e-5,
      ));
    it('gruCellStep backward, large with tails', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        seededHostInputs(
          [
            [4, 3 * 259],
            [4, 3 * 259],
            [4, 259],
          ],
          11,
          3,
        ),
        (gi, gh, h) => gruCellStep(gi, gh, h),
        1e-5,
      ));
    it('lstmCellStep backward on non-contiguous inputs', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        seededHostInputs(
          [
            [8, 2],
            [8, 2],
            [2, 2],
          ],
          3,
        ),
        (gi, gh, c) => lstmCellStep(transpose(gi, 0, 1), transpose(gh, 0, 1), transpose(c, 0, 1)),
      ));
    it('gruCellStep backward on non-contiguous inputs', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        seededHostInputs(
          [
            [6, 3],
            [6, 3],
            [2, 3],
          ],
          5,
        ),
        (gi, gh, h) => gruCellStep(transpose(gi, 0, 1), transpose(gh, 0, 1), transpose(h, 0, 1)),
      ));
    it('lstmCellStep second derivatives (createGraph keeps the composed rule)', () =>
      expectFusedMatchesComposedSecondOrder(ctx, unfused, cases.hostInputs('lstm_cell_wide', 'gates', 'c'), (g, c) =>
        lstmCellStep(g, mul(g, -0.5), c),
      ));
    it('gruCellStep second derivatives (createGraph keeps the composed rule)', () =>
      expectFusedMatchesComposedSecondOrder(ctx, unfused, cases.hostInputs('gru_cell_wide', 'gi', 'gh', 'h'), (gi, gh, h) =>
        gruCellStep(gi, gh, h),
      ));
  });

  recurrentSequenceTests(ctx);

  describe('fused cell backward kernels', () => {
    const counting = useCountingBackend(ctx);
    const run = (createGraph: boolean) =>
      tidy(() => {
        const device = counting.name;
        const gates = tensor(
          Float32Array.from({ length: 16 }, (_, i) => Math.sin(i)),
          { shape: [2, 8], device, requiresGrad: true },
        );
        const c = tensor([0.5, -0.5, 0.25, 1], { shape: [2, 2], device, requiresGrad: true });
        const gi = tensor(
          Float32Array.from({ length: 12 }, (_, i) => Math.cos(i)),
          { shape: [2, 6], device, requiresGrad: true },
        );
        const h = tensor([0.1, -0.2, 0.3, 0.4], { shape: [2, 2], device, requiresGrad: true });
        const outs = [...lstmCellStep(gates, gates, c), gruCellStep(gi, gi, h)];
        gradients(weightedLoss(outs), [gates, c, gi, h], null, { createGraph });
      });
    it('run in the backward pass when the backend has them, but not while it is recorded', async () => {
      const base = await loadBackend(ctx.device);
      counting.calls.clear();
      run(false);
      const has = (k: string) => typeof (base.fused as Record<string, unknown>)[k] === 'function';
      for (const [fwd, bwd] of [
        ['lstmCell', 'lstmCellBackward'],
        ['gruCell', 'gruCellBackward'],
      ]) {
        expect(counting.calls.get(bwd) ?? 0, bwd).toBe(has(fwd) && has(bwd) ? 1 : 0);
      }
      counting.calls.clear();
      run(true);
      expect(counting.calls.get('lstmCellBackward') ?? 0).toBe(0);
      expect(counting.calls.get('gruCellBackward') ?? 0).toBe(0);
    });
  });

  describe('attention', () => {
    const unfused = useUnfusedBackend(ctx);
    const counting = useCountingBackend(ctx);
    const NEG = Number.NEGATIVE_INFINITY;
    /** Seeded q, k, v (and more shapes) with some entries of input `at` set to -inf. */
    const withNegInf = (shapes: number[][], at: number, positions: number[], seed: number) => {
      const inputs = seededHostInputs(shapes, seed);
      for (const p of positions) inputs[at].data[p] = NEG;
      return inputs;
    };
    it('with a float mask per batch: values and gradients of q, k, v and the mask', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        seededHostInputs(
          [
            [3, 4, 5],
            [3, 6, 5],
            [3, 6, 2],
            [3, 4, 6],
          ],
          21,
        ),
        (q, k, v, m) => attention(q, k, v, { mask: m }),
      ));
    it('without a mask, with an explicit scale', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        seededHostInputs(
          [
            [2, 3, 4],
            [2, 5, 4],
            [2, 5, 3],
          ],
          22,
        ),
        (q, k, v) => attention(q, k, v, { scale: 0.3 }),
      ));
    it('causal with L < S (queries are the last L positions)', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        seededHostInputs(
          [
            [2, 3, 4],
            [2, 5, 4],
            [2, 5, 3],
          ],
          23,
        ),
        (q, k, v) => attention(q, k, v, { causal: true }),
      ));
    it('causal with L > S: the first rows are fully masked', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        seededHostInputs(
          [
            [2, 4, 3],
            [2, 2, 3],
            [2, 2, 3],
          ],
          24,
        ),
        (q, k, v) => attention(q, k, v, { causal: true }),
      ));
    it('a broadcast [L, S] mask with -inf entries and a fully masked row, plus causal', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        withNegInf(
          [
            [2, 3, 4],
            [2, 4, 4],
            [2, 4, 2],
            [3, 4],
          ],
          3,
          [1, 4, 5, 6, 7],
          25,
        ),
        (q, k, v, m) => attention(q, k, v, { mask: m, causal: true }),
      ));
    it('a [1, L, S] mask and non-contiguous q, k, v', () =>
      expectFusedMatchesComposed(
        ctx,
        unfused,
        withNegInf(
          [
            [3, 2, 4],
            [2, 4, 5],
            [5, 2, 3],
            [1, 3, 5],
          ],
          3,
          [0, 3],
          26,
        ),
        (q, k, v, m) => attention(transpose(q, 0, 1), transpose(k, 1, 2), transpose(v, 0, 1), { mask: m }),
      ));
    it('second derivatives', () =>
      expectFusedMatchesComposedSecondOrder(
        ctx,
        unfused,
        seededHostInputs(
          [
            [1, 2, 2],
            [1, 3, 2],
            [1, 3, 2],
          ],
          27,
          1,
        ),
        (q, k, v) => attention(q, k, v, { causal: true }),
      ));
    it('gives zero weights, zero output and finite gradients for fully masked rows', async () => {
      const device = ctx.device;
      const { out, w, grads } = tidy(() => {
        const q = tensor(
          Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)),
          { shape: [2, 2, 3], device, requiresGrad: true },
        );
        const k = tensor(
          Float32Array.from({ length: 18 }, (_, i) => Math.cos(i)),
          { shape: [2, 3, 3], device, requiresGrad: true },
        );
        const v = tensor(
          Float32Array.from({ length: 12 }, (_, i) => i / 4),
          { shape: [2, 3, 2], device, requiresGrad: true },
        );
        const m = tensor([0, 1, NEG, NEG, NEG, NEG], { shape: [1, 2, 3], device, requiresGrad: true });
        const [o, weights] = attention(q, k, v, { mask: m });
        return { out: o, w: weights, grads: gradients(weightedLoss([o, weights]), [q, k, v, m]) as Tensor[] };
      });
      const wv = Array.from(await w.data());
      const ov = Array.from(await out.data());
      for (let b = 0; b < 2; b++) {
        expect(wv.slice(b * 6 + 3, b * 6 + 6)).toEqual([0, 0, 0]);
        expect(ov.slice(b * 4 + 2, b * 4 + 4)).toEqual([0, 0]);
        expect(wv[b * 6] + wv[b * 6 + 1]).toBeCloseTo(1, 5);
      }
      for (const g of grads) for (const x of await g.data()) expect(Number.isFinite(x)).toBe(true);
      const gq = Array.from(await grads[0].data());
      expect(gq.slice(3, 6)).toEqual([0, 0, 0]);
      for (const t of [out, w, ...grads]) t.dispose();
    });
    it('runs the fused kernel when the backend has it', async () => {
      const base = await loadBackend(ctx.device);
      counting.calls.clear();
      tidy(() => {
        const device = counting.name;
        const q = tensor(
          Float32Array.from({ length: 8 }, (_, i) => Math.sin(i)),
          { shape: [1, 2, 4], device, requiresGrad: true },
        );
        const [o] = attention(q, q, q, { causal: true });
        gradients(sum(o), [q]);
      });
      expect(counting.calls.get('attention') ?? 0).toBe(typeof base.fused.attention === 'function' ? 1 : 0);
    });
    it('leaves no buffers behind after forward and backward', () => {
      const q = tensor(
        Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)),
        { shape: [2, 3, 4], device: ctx.device, requiresGrad: true },
      );
      const m = tensor([0, -1, NEG, 0.5, 0, NEG, NEG, NEG, NEG], { shape: [3, 3], device: ctx.device, requiresGrad: true });
      const before = memory().buffers;
      tidy(() => {
        for (const g of gradients(weightedLoss(attention(q, q, q, { mask: m, causal: true })), [q, m])) g?.dispose();
      });
      expect(memory().buffers).toBe(before);
      for (const t of [q, m]) t.dispose();
    });
    it('rejects bad shapes and dtypes, naming them', () => {
      tidy(() => {
        const q = zeros([2, 3, 4]);
        expect(() => attention(q, zeros([2, 5, 3]), zeros([2, 5, 3]))).toThrow(ShapeError);
        expect(() => attention(q, zeros([2, 5, 4]), zeros([2, 4, 3]))).toThrow(ShapeError);
        expect(() => attention(zeros([3, 4]), zeros([5, 4]), zeros([5, 4]))).toThrow(/3-D/);
        expect(() => attention(q, zeros([2, 5, 4]), zeros([2, 5, 3]), { mask: zeros([2, 3, 4]) })).toThrow(/mask \[2, 3, 4\]/);
        expect(() => attention(q, zeros([2, 5, 4]), zeros([2, 5, 3]), { mask: zeros([3, 5], { dtype: 'bool' }) })).toThrow(DTypeError);
      });
    });
  });

  describe('memory', () => {
    it('leave no buffers behind after forward and backward', () => {
      const x = tensor(
        [
          [1, 5, 2],
          [4, 3, 6],
        ],
        { requiresGrad: true },
      );
      const w = tensor([0.5, 1, -1], { requiresGrad: true });
      const gates = tensor([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]], { requiresGrad: true });
      const c = tensor([[0.5, -0.5]], { requiresGrad: true });
      const before = memory().buffers;
      tidy(() => {
        const outs = [
          softmax(x, 1),
          logSoftmax(x, 0),
          layerNorm(x, [3], w, w),
          ...lstmCellStep(gates, gates, c),
          gruCellStep(x, x, zeros([2, 1])),
        ];
        for (const g of gradients(weightedLoss(outs), [x, w, gates, c])) g?.dispose();
      });
      expect(memory().buffers).toBe(before);
      for (const t of [x, w, gates, c]) t.dispose();
    });
  });
}
