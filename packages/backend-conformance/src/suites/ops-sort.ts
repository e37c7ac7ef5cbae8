/**
 * The sequence-model tensor ops (sort, argsort, topk, repeat, tile, repeatInterleave, flip,
 * roll, isnan/isinf/isfinite, nanToNum, norm, cumprod, logcumsumexp): values and gradients
 * against PyTorch (cases/sort_sample.json), gradchecks, argument errors; and multinomial /
 * randperm, whose streams are GhostFlow's own: checked for determinism under a seed and
 * statistically.
 */
import {
  Generator,
  type Tensor,
  argsort,
  cumprod,
  add,
  flip,
  gradients,
  mul,
  pow,
  sum,
  isfinite,
  isinf,
  isnan,
  logcumsumexp,
  manualSeed,
  multinomial,
  nanToNum,
  norm,
  randperm,
  repeat,
  repeatInterleave,
  roll,
  setBackend,
  sort,
  tensor,
  tile,
  topk,
  zeros,
} from '@ghostflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseWeight, namedCases } from '../cases.js';
import { expectGradcheck, useAsyncReadBackend } from '../checks.js';
import { type SuiteContext, expectTensor } from '../context.js';

/** cases/sort_sample.json. */
const cases = namedCases('sort_sample');

const INF = Number.POSITIVE_INFINITY;

function vi(r: { values: Tensor; indices: Tensor }): Tensor[] {
  return [r.values, r.indices];
}

async function host(t: Tensor): Promise<number[]> {
  const v = Array.from(await t.data(), Number);
  t.dispose();
  return v;
}

/** `d/dx sum(op(x) * (1 + w))`, recorded (createGraph), so it can be differentiated again. */
function firstGrad(op: (x: Tensor) => Tensor): (inputs: Record<string, Tensor>) => Tensor {
  return ({ x }) => {
    const y = op(x);
    const g = gradients(sum(mul(y, add(caseWeight(y.shape), 1))), [x], null, { createGraph: true })[0];
    if (!g) throw new Error('no gradient');
    return g;
  };
}

/** Registers the tests of this area. */
export function opsSortSuite(ctx: SuiteContext): void {
  describe('sort / topk on the device path (no synchronous reads)', () => {
    const name = useAsyncReadBackend(ctx);
    beforeAll(() => setBackend(name));
    afterAll(() => ctx.activate());
    it('sort: stable ties, NaN order, int32, non-contiguous, empty, 0-d', async () => {
      await cases.check('sort_stable_ties', ({ x }) => vi(sort(x, -1, { stable: true })));
      await cases.check('sort_stable_ties_desc', ({ x }) => vi(sort(x, -1, { descending: true, stable: true })));
      await cases.check('sort_nan', ({ x }) => vi(sort(x, -1, { stable: true })));
      await cases.check('sort_nan_desc', ({ x }) => vi(sort(x, -1, { descending: true, stable: true })));
      await cases.check('sort_int', ({ x }) => vi(sort(x, -1, { stable: true })));
      await cases.check('sort_neg_noncontig', ({ x }) => vi(sort(x.t(), -1)));
      await cases.check('sort_3d_dim1', ({ x }) => vi(sort(x, 1)));
      await cases.check('sort_empty', ({ x }) => vi(sort(x, 1)));
      await cases.check('sort_0d', ({ x }) => vi(sort(x)));
      await cases.check('argsort_desc_dim0', ({ x }) => argsort(x, 0, { descending: true }));
    });
    it('topk: picking path, sorting path, NaN, int32, exhausted -inf', async () => {
      const probe = tensor([1]);
      expect(probe.backend.readSync).toBeUndefined();
      probe.dispose();
      await cases.check('topk_vocab', ({ x }) => vi(topk(x, 5)));
      await cases.check('topk_ties_nan_long', ({ x }) => vi(topk(x, 3)));
      await cases.check('topk_ties_nan_long_smallest', ({ x }) => vi(topk(x, 3, -1, { largest: false })));
      await cases.check('topk_large_k', ({ x }) => vi(topk(x, 150)));
      await cases.check('topk_nan', ({ x }) => vi(topk(x, 4)));
      await cases.check('topk_nan_smallest', ({ x }) => vi(topk(x, 5, -1, { largest: false })));
      await cases.check('topk_smallest_dim0', ({ x }) => vi(topk(x, 2, 0, { largest: false })));
      await cases.check('topk_int', ({ x }) => vi(topk(x, 2)));
      await cases.check('topk_noncontig', ({ x }) => vi(topk(x.t(), 2)));
      const x = tensor([-INF, 2, -INF, -INF]);
      const r = topk(x, 4);
      await expectTensor(r.indices, [1, 0, 2, 3], { dtype: 'int32' });
      const s = topk(tensor([INF, Number.NaN, INF]), 3, 0, { largest: false });
      await expectTensor(s.indices, [0, 2, 1], { dtype: 'int32' });
      for (const t of [x, r.values, r.indices, s.values, s.indices]) t.dispose();
    });
    it('multinomial without replacement (via topk) gives distinct categories', async () => {
      const p = tensor([
        [0.2, 0.3, 0.5, 0],
        [1, 1, 1, 1],
      ]);
      const v = await host(multinomial(p, 3, { generator: new Generator(2) }));
      expect(new Set(v.slice(0, 3)).size).toBe(3);
      expect(v.slice(0, 3).includes(3)).toBe(false);
      expect(new Set(v.slice(3)).size).toBe(3);
      p.dispose();
    });
  });

  describe('sort / argsort', () => {
    it('1-d', () => cases.check('sort_1d', ({ x }) => vi(sort(x))));
    it('descending along dim 0', () => cases.check('sort_desc_dim0', ({ x }) => vi(sort(x, 0, { descending: true }))));
    it('non-contiguous along a negative dim', () => cases.check('sort_neg_noncontig', ({ x }) => vi(sort(x.t(), -1))));
    it('3-d along the middle dim', () => cases.check('sort_3d_dim1', ({ x }) => vi(sort(x, 1))));
    it('stable with ties', () => cases.check('sort_stable_ties', ({ x }) => vi(sort(x, -1, { stable: true }))));
    it('stable with ties, descending', () =>
      cases.check('sort_stable_ties_desc', ({ x }) => vi(sort(x, -1, { descending: true, stable: true }))));
    it('NaN sorts as the largest value', () => cases.check('sort_nan', ({ x }) => vi(sort(x, -1, { stable: true }))));
    it('NaN first when descending', () => cases.check('sort_nan_desc', ({ x }) => vi(sort(x, -1, { descending: true, stable: true }))));
    it('int32', () => cases.check('sort_int', ({ x }) => vi(sort(x, -1, { stable: true }))));
    it('0-d', () => cases.check('sort_0d', ({ x }) => vi(sort(x))));
    it('empty', () => cases.check('sort_empty', ({ x }) => vi(sort(x, 1))));
    it('argsort 1-d', () => cases.check('argsort_1d', ({ x }) => argsort(x)));
    it('argsort descending along dim 0', () => cases.check('argsort_desc_dim0', ({ x }) => argsort(x, 0, { descending: true })));
    it('argsort stable', () => cases.check('argsort_stable', ({ x }) => argsort(x, -1, { stable: true })));
    it('values pass gradcheck', () => expectGradcheck((x) => sort(x.t(), -1).values, cases.inputs('sort_neg_noncontig', 'x')));
    it('Tensor methods', async () => {
      const x = tensor([3, 1, 2]);
      const s = x.sort(0, { descending: true });
      await expectTensor(s.values, [3, 2, 1]);
      await expectTensor(x.argsort(), [1, 2, 0], { dtype: 'int32' });
      for (const t of [x, s.values, s.indices]) t.dispose();
    });
    it('rejects a bad dim', () => {
      const x = zeros([2]);
      expect(() => sort(x, 1)).toThrow(/out of range/);
      x.dispose();
    });
  });

  describe('topk', () => {
    it('1-d', () => cases.check('topk_1d', ({ x }) => vi(topk(x, 3))));
    it('smallest along dim 0', () => cases.check('topk_smallest_dim0', ({ x }) => vi(topk(x, 2, 0, { largest: false }))));
    it('non-contiguous', () => cases.check('topk_noncontig', ({ x }) => vi(topk(x.t(), 2))));
    it('NaN is the largest', () => cases.check('topk_nan', ({ x }) => vi(topk(x, 4))));
    it('NaN is never among the smallest while numbers remain', () =>
      cases.check('topk_nan_smallest', ({ x }) => vi(topk(x, 5, -1, { largest: false }))));
    it('k = n', () => cases.check('topk_all', ({ x }) => vi(topk(x, 4))));
    it('k = 0', () => cases.check('topk_k0', ({ x }) => vi(topk(x, 0))));
    it('int32', () => cases.check('topk_int', ({ x }) => vi(topk(x, 2))));
    it('large k (the sorting path)', () => cases.check('topk_large_k', ({ x }) => vi(topk(x, 150))));
    it('a vocabulary-sized row (the picking path)', () => cases.check('topk_vocab', ({ x }) => vi(topk(x, 5))));
    it('ties and NaN in long rows keep the stable order', async () => {
      await cases.check('topk_ties_nan_long', ({ x }) => vi(topk(x, 3)));
      await cases.check('topk_ties_nan_long_smallest', ({ x }) => vi(topk(x, 3, -1, { largest: false })));
      await cases.check('topk_ties_nan_long', ({ x }) => vi(topk(x.t(), 3, 0)).map((t) => t.t()));
    });
    it('of a 0-d tensor gives the element for k = 0 and k = 1, as PyTorch 1.13', async () => {
      const x = tensor(5);
      for (const k of [0, 1]) {
        const r = x.topk(k);
        await expectTensor(r.values, 5, { shape: [] });
        await expectTensor(r.indices, 0, { shape: [], dtype: 'int32' });
        r.values.dispose();
        r.indices.dispose();
      }
      expect(() => topk(x, 2)).toThrow(/selected index k out of range/);
      x.dispose();
    });
    it('picks every -inf once when they are all that is left', async () => {
      const x = tensor([-INF, 2, -INF, -INF]);
      const r = topk(x, 4);
      await expectTensor(r.values, [2, -INF, -INF, -INF]);
      await expectTensor(r.indices, [1, 0, 2, 3], { dtype: 'int32' });
      const s = topk(tensor([INF, Number.NaN, INF]), 3, 0, { largest: false });
      await expectTensor(s.indices, [0, 2, 1], { dtype: 'int32' });
      for (const t of [x, r.values, r.indices, s.values, s.indices]) t.dispose();
    });
    it('values pass gradcheck', () => expectGradcheck((x) => topk(x.t(), 2).values, cases.inputs('topk_noncontig', 'x')));
    it('rejects k out of range', () => {
      const x = zeros([3]);
      expect(() => topk(x, 4)).toThrow(/selected index k out of range/);
      expect(() => topk(x, -1)).toThrow(/selected index k out of range/);
      expect(() => x.topk(1, 1)).toThrow(/out of range/);
      x.dispose();
    });
  });

  describe('repeat / tile / repeatInterleave / flip / roll', () => {
    it('repeat 2-d', () => cases.check('repeat_2d', ({ x }) => repeat(x, 2, 3)));
    it('repeat adds leading dims', () => cases.check('repeat_more_dims', ({ x }) => x.repeat([2, 1, 2])));
    it('repeat non-contiguous', () => cases.check('repeat_noncontig', ({ x }) => repeat(x.t(), 1, 2)));
    it('repeat zero times', () => cases.check('repeat_zero', ({ x }) => repeat(x, 0, 2)));
    it('repeat 0-d', () => cases.check('repeat_0d', ({ x }) => repeat(x, 3)));
    it('tile pads short dims with 1s', () => cases.check('tile_short', ({ x }) => tile(x, [2])));
    it('tile with more dims', () => cases.check('tile_long', ({ x }) => x.tile([2, 1, 2])));
    it('repeatInterleave flattened', () => cases.check('repeat_interleave_int', ({ x }) => repeatInterleave(x, 2)));
    it('repeatInterleave along a dim', () => cases.check('repeat_interleave_dim', ({ x }) => x.repeatInterleave(3, 1)));
    it('repeatInterleave with per-slice counts', () =>
      cases.check('repeat_interleave_tensor', ({ x }) => repeatInterleave(x, [1, 0, 2], 0)));
    it('repeatInterleave non-contiguous, negative dim', () =>
      cases.check('repeat_interleave_neg_noncontig', ({ x }) => repeatInterleave(x.t(), [2, 1], -1)));
    it('flip one dim', () => cases.check('flip_0', ({ x }) => flip(x, [0])));
    it('flip two dims', () => cases.check('flip_both_neg', ({ x }) => flip(x, [-1, 0])));
    it('flip non-contiguous', () => cases.check('flip_noncontig', ({ x }) => x.t().flip([1])));
    it('flip int32', () => cases.check('flip_int', ({ x }) => flip(x, 0)));
    it('roll flattened', () => cases.check('roll_flat', ({ x }) => roll(x, 2)));
    it('roll along a dim', () => cases.check('roll_dim', ({ x }) => roll(x, -1, 1)));
    it('roll along several dims', () => cases.check('roll_multi', ({ x }) => x.roll([1, 5], [0, -1])));
    it('roll non-contiguous', () => cases.check('roll_noncontig', ({ x }) => roll(x.t(), 1, 0)));
    it('pass gradcheck', async () => {
      await expectGradcheck((x) => repeat(x.t(), 2, 2), cases.inputs('repeat_noncontig', 'x'));
      await expectGradcheck((x) => repeatInterleave(x, [1, 0, 2], 0), cases.inputs('repeat_interleave_tensor', 'x'));
      await expectGradcheck((x) => flip(x, [-1, 0]), cases.inputs('flip_both_neg', 'x'));
      await expectGradcheck((x) => roll(x, [1, 5], [0, -1]), cases.inputs('roll_multi', 'x'));
    });
    it('reject bad arguments with PyTorch messages', () => {
      const x = zeros([2, 3]);
      expect(() => repeat(x, 2)).toThrow(/can not be smaller than number of dimensions/);
      expect(() => repeat(x, 2, -1)).toThrow(/non-negative/);
      expect(() => repeatInterleave(x, [1, 2, 3], 0)).toThrow(/same size as input along dim/);
      expect(() => repeatInterleave(x, [1, -2], 0)).toThrow(/can not be negative/);
      expect(() => flip(x, [0, -2])).toThrow(/appears multiple times/);
      expect(() => roll(x, [1, 2], [0])).toThrow(/shifts and dimensions must align/);
      x.dispose();
    });
  });

  describe('isnan / isinf / isfinite / nanToNum', () => {
    it('isnan', () => cases.check('isnan', ({ x }) => isnan(x)));
    it('isinf', () => cases.check('isinf', ({ x }) => isinf(x)));
    it('isfinite', () => cases.check('isfinite', ({ x }) => x.isfinite()));
    it('isnan of int32', () => cases.check('isnan_int', ({ x }) => x.isnan()));
    it('isfinite of int32', () => cases.check('isfinite_int', ({ x }) => isfinite(x)));
    it('nanToNum defaults (gradient 0 at replaced elements)', () => cases.check('nan_to_num', ({ x }) => nanToNum(x)));
    it('nanToNum with values', () => cases.check('nan_to_num_values', ({ x }) => x.nanToNum({ nan: 7, posinf: 100, neginf: -50 })));
  });

  describe('norm', () => {
    it('Frobenius (default)', () => cases.check('norm_fro', ({ x }) => norm(x)));
    it('2 along a dim', () => cases.check('norm_2_dim', ({ x }) => norm(x, 2, 1)));
    it('1 with keepdim', () => cases.check('norm_1_keepdim', ({ x }) => norm(x, 1, 0, true)));
    it('3 along a negative dim', () => cases.check('norm_3_neg', ({ x }) => x.norm(3, -1)));
    it('0.5 with zeros (subgradient 0)', () => cases.check('norm_half', ({ x }) => norm(x, 0.5, 1)));
    it('inf spreads the gradient over ties', () => cases.check('norm_inf', ({ x }) => norm(x, INF, 1)));
    it('-inf', () => cases.check('norm_neg_inf', ({ x }) => norm(x, -INF, 1)));
    it('0 counts non-zeros', () => cases.check('norm_0', ({ x }) => norm(x, 0, 1)));
    it('of a zero row has gradient 0', () => cases.check('norm_zero_row', ({ x }) => norm(x, 2, 1)));
    it("'fro' over two dims", () => cases.check('norm_fro_dims', ({ x }) => norm(x, 'fro', [0, 2])));
    it('1.5 of a non-contiguous input', () => cases.check('norm_noncontig', ({ x }) => norm(x.t(), 1.5, 0)));
    it('-1', () => cases.check('norm_neg1', ({ x }) => norm(x, -1, 1)));
    it('passes gradcheck, also for the gradient itself', async () => {
      await expectGradcheck((x) => norm(x, 3, -1), cases.inputs('norm_3_neg', 'x'));
      await expectGradcheck((x) => norm(x), cases.inputs('norm_fro', 'x'));
    });
    it('rejects int input and a bad order', () => {
      const x = zeros([2], { dtype: 'int32' });
      const y = zeros([2]);
      expect(() => norm(x)).toThrow(/float32/);
      expect(() => norm(y, 'nuc' as 'fro')).toThrow(/p must be/);
      x.dispose();
      y.dispose();
    });
  });

  describe('cumprod / logcumsumexp', () => {
    it('cumprod along dim 1', () => cases.check('cumprod_dim1', ({ x }) => cumprod(x, 1)));
    it('cumprod with a zero (exact gradient)', () => cases.check('cumprod_zero', ({ x }) => cumprod(x, 0)));
    it('cumprod with two zeros', () => cases.check('cumprod_two_zeros', ({ x }) => x.cumprod(-1)));
    it('cumprod non-contiguous', () => cases.check('cumprod_noncontig', ({ x }) => cumprod(x.t(), 0)));
    it('cumprod int32', () => cases.check('cumprod_int', ({ x }) => cumprod(x, 0)));
    it('cumprod 0-d', () => cases.check('cumprod_0d', ({ x }) => cumprod(x, 0)));
    it('logcumsumexp along dim 1', () => cases.check('logcumsumexp_dim1', ({ x }) => logcumsumexp(x, 1)));
    it('logcumsumexp of large values', () => cases.check('logcumsumexp_large', ({ x }) => logcumsumexp(x, 0), { rtol: 1e-6 }));
    it('logcumsumexp of very negative values', () => cases.check('logcumsumexp_tiny', ({ x }) => logcumsumexp(x, 0)));
    it('logcumsumexp with -inf', () => cases.check('logcumsumexp_neg_inf', ({ x }) => logcumsumexp(x, 0)));
    it('logcumsumexp non-contiguous', () => cases.check('logcumsumexp_noncontig', ({ x }) => x.t().logcumsumexp(-1)));
    it('logcumsumexp 0-d', () => cases.check('logcumsumexp_0d', ({ x }) => logcumsumexp(x, 0)));
    it('pass gradcheck', async () => {
      await expectGradcheck((x) => cumprod(x, 1), cases.inputs('cumprod_dim1', 'x'));
      await expectGradcheck((x) => cumprod(x, -1), cases.inputs('cumprod_two_zeros', 'x'));
      await expectGradcheck((x) => logcumsumexp(x.t(), -1), cases.inputs('logcumsumexp_noncontig', 'x'));
    });
    it('logcumsumexp rejects int32', () => {
      const x = zeros([2], { dtype: 'int32' });
      expect(() => logcumsumexp(x, 0)).toThrow(/float32/);
      x.dispose();
    });
  });

  describe('double backward (PyTorch values)', () => {
    it('cumprod with zeros', () =>
      cases.check(
        'double_cumprod_zero',
        firstGrad((x) => cumprod(x, -1)),
      ));
    it('logcumsumexp', () =>
      cases.check(
        'double_logcumsumexp',
        firstGrad((x) => logcumsumexp(x, 1)),
      ));
    it('norm 2', () =>
      cases.check(
        'double_norm_2',
        firstGrad((x) => norm(x, 2, 1)),
      ));
    it('norm 3', () =>
      cases.check(
        'double_norm_3',
        firstGrad((x) => norm(x, 3, 1)),
      ));
    it('sort values', () =>
      cases.check(
        'double_sort',
        firstGrad((x) => pow(sort(x, 1).values, 2)),
      ));
    it('topk values', () =>
      cases.check(
        'double_topk',
        firstGrad((x) => pow(topk(x, 2).values, 2)),
      ));
  });

  describe('multinomial', () => {
    it('is deterministic under manualSeed and a generator', async () => {
      const p = tensor([
        [0.1, 0.5, 0.4],
        [0.3, 0.3, 0.4],
      ]);
      manualSeed(7);
      const a = await host(multinomial(p, 5, { replacement: true }));
      manualSeed(7);
      const b = await host(multinomial(p, 5, { replacement: true }));
      expect(a).toEqual(b);
      const c = await host(multinomial(p, 3, { generator: new Generator(3) }));
      const d = await host(multinomial(p, 3, { generator: new Generator(3) }));
      expect(c).toEqual(d);
      p.dispose();
    });
    it('with replacement follows the weights and never draws a zero weight', async () => {
      const p = tensor([2, 0, 3, 5, 0]);
      const n = 20000;
      const s = await host(multinomial(p, n, { replacement: true, generator: new Generator(11) }));
      const counts = [0, 0, 0, 0, 0];
      for (const v of s) counts[v]++;
      expect(counts[1]).toBe(0);
      expect(counts[4]).toBe(0);
      for (const [i, w] of [
        [0, 0.2],
        [2, 0.3],
        [3, 0.5],
      ]) {
        // Binomial standard deviation is at most 0.0036 here: 5 sigma.
        expect(Math.abs(counts[i] / n - w)).toBeLessThan(0.018);
      }
      p.dispose();
    });
    it('without replacement draws distinct categories, in successive-draw proportions', async () => {
      const p = tensor([0.5, 0.3, 0.2, 0]);
      const trials = 4000;
      const rows = tensor(
        Array.from({ length: trials * 4 }, (_, i) => [0.5, 0.3, 0.2, 0][i % 4]),
        { shape: [trials, 4] },
      );
      const s = await host(multinomial(rows, 3, { generator: new Generator(5) }));
      const first = [0, 0, 0, 0];
      const second = [0, 0, 0, 0];
      for (let t = 0; t < trials; t++) {
        const row = s.slice(3 * t, 3 * t + 3);
        expect(new Set(row).size).toBe(3);
        expect(row.includes(3)).toBe(false);
        first[row[0]]++;
        second[row[1]]++;
      }
      const w = [0.5, 0.3, 0.2];
      for (let j = 0; j < 3; j++) {
        expect(Math.abs(first[j] / trials - w[j])).toBeLessThan(0.04);
        // P(second = j) = sum_{i != j} w_i w_j / (1 - w_i)
        let p2 = 0;
        for (let i = 0; i < 3; i++) if (i !== j) p2 += (w[i] * w[j]) / (1 - w[i]);
        expect(Math.abs(second[j] / trials - p2)).toBeLessThan(0.04);
      }
      p.dispose();
      rows.dispose();
    });
    it('1-d input gives [numSamples]', async () => {
      const p = tensor([1, 1]);
      const s = multinomial(p, 2);
      expect(s.shape).toEqual([2]);
      expect(s.dtype).toBe('int32');
      expect((await host(s)).sort()).toEqual([0, 1]);
      p.dispose();
    });
    it('rejects bad arguments with PyTorch messages', () => {
      const p = tensor([0.5, 0.5]);
      expect(() => multinomial(p, 3)).toThrow(/cannot sample n_sample > prob_dist.size\(-1\) samples without replacement/);
      expect(() => multinomial(p, 0)).toThrow(/cannot sample n_sample <= 0 samples/);
      const cube = zeros([2, 2, 2]);
      expect(() => multinomial(cube, 1)).toThrow(/prob_dist must be 1 or 2 dim/);
      p.dispose();
      cube.dispose();
    });
    it('rejects negative, inf, NaN and all-zero weights where reads are synchronous', () => {
      const bad = [tensor([0.5, -1]), tensor([INF, 1]), tensor([Number.NaN, 1]), tensor([0, 0])];
      if (!bad[0].backend.readSync) {
        for (const t of bad) t.dispose();
        return;
      }
      expect(() => multinomial(bad[0], 1)).toThrow(/probability tensor contains either `inf`, `nan` or element < 0/);
      expect(() => multinomial(bad[1], 1)).toThrow(/probability tensor contains either `inf`, `nan` or element < 0/);
      expect(() => multinomial(bad[2], 1)).toThrow(/probability tensor contains either `inf`, `nan` or element < 0/);
      expect(() => multinomial(bad[3], 1, { replacement: true })).toThrow(/invalid multinomial distribution \(sum of probabilities <= 0\)/);
      for (const t of bad) t.dispose();
    });
  });

  describe('randperm', () => {
    it('is a permutation, seeded, int32 by default', async () => {
      const a = randperm(50, { generator: new Generator(1) });
      expect(a.dtype).toBe('int32');
      const v = await host(a);
      expect([...v].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(v).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(await host(randperm(50, { generator: new Generator(1) }))).toEqual(v);
      const f = randperm(4, { dtype: 'float32' });
      expect(f.dtype).toBe('float32');
      expect((await host(f)).sort()).toEqual([0, 1, 2, 3]);
      expect((await host(randperm(0))).length).toBe(0);
    });
    it('is uniform over the permutations of 3', async () => {
      const g = new Generator(9);
      const counts = new Map<string, number>();
      const n = 1500;
      for (let i = 0; i < n; i++) {
        const key = (await host(randperm(3, { generator: g }))).join('');
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      expect(counts.size).toBe(6);
      for (const c of counts.values()) expect(Math.abs(c / n - 1 / 6)).toBeLessThan(0.05);
    });
    it('rejects a negative n', () => {
      expect(() => randperm(-1)).toThrow(/non-negative/);
    });
  });
}
