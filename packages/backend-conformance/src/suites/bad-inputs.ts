/**
 * The defects a sweep of hostile and careless inputs found, held on every backend:
 * logSoftmax / crossEntropy with logits of magnitude 1e15 to 3e38 (PyTorch stays exact
 * because it subtracts the max before the log of the sum), on the fused and the composed
 * path; huge shapes refused with a GhostFlowError naming op, shape and bytes; sparse arrays,
 * bad seeds and probabilities refused with GhostFlowErrors; layerNorm over a normalized
 * shape with a 0 dim (forward and backward, as PyTorch). Expected values come from PyTorch.
 */
import {
  GhostFlowError,
  IndexError,
  ShapeError,
  type Tensor,
  arange,
  bernoulli,
  full,
  gradients,
  layerNorm,
  logSoftmax,
  manualSeed,
  ones,
  rand,
  softmax,
  sum,
  tensor,
  transpose,
  zeros,
} from '@ghostflow/core';
import { F } from '@ghostflow/nn';
import { describe, expect, it } from 'vitest';
import { type SuiteContext, expectTensor } from '../context.js';
import { useUnfusedBackend, thrown } from '../checks.js';

/** Logits whose rows tie at large magnitudes: the log of the sum must survive the max. */
const BIG = [
  [1e15, 1e15, 0],
  [-1e30, -1e30, -1e30],
  [1e30, 1e30, 1e29],
  [3e38, 3e38, -3e38],
];
const LN2 = 0.6931471824645996;
const LN3 = 1.0986123085021973;
/** torch.log_softmax(BIG, 1) (float32). */
const BIG_LOG_SOFTMAX = [
  [-LN2, -LN2, -999999986991104.0],
  [-LN3, -LN3, -LN3],
  [-LN2, -LN2, -9.000000135427196e29],
  [-LN2, -LN2, Number.NEGATIVE_INFINITY],
];
/** torch.softmax(BIG, 1). */
const BIG_SOFTMAX = [
  [0.5, 0.5, 0],
  [1 / 3, 1 / 3, 1 / 3],
  [0.5, 0.5, 0],
  [0.5, 0.5, 0],
];
/** F.cross_entropy(BIG, [0, 1, 2, 1], reduction='none') and the gradient of its sum. */
const BIG_CE = [LN2, LN3, 9.000000135427196e29, LN2];
const BIG_CE_GRAD = [
  [-0.5, 0.5, 0],
  [1 / 3, -2 / 3, 1 / 3],
  [0.5, 0.5, -1],
  [0.5, -0.5, 0],
];

const own = <T extends Tensor>(t: T, list: Tensor[]): T => {
  list.push(t);
  return t;
};

/** Registers the tests of this area. */
export function badInputsSuite(ctx: SuiteContext): void {
  const unfused = useUnfusedBackend(ctx);

  describe('logSoftmax and crossEntropy at extreme logits', () => {
    for (const path of ['fused', 'composed'] as const) {
      const device = () => (path === 'fused' ? ctx.device : unfused);
      it(`logSoftmax and softmax keep ties exact up to 3e38 (${path} path)`, async () => {
        const made: Tensor[] = [];
        const x = own(tensor(BIG, { device: device() }), made);
        await expectTensor(own(logSoftmax(x, 1), made), BIG_LOG_SOFTMAX, { atol: 1e-6, rtol: 1e-6 });
        await expectTensor(own(softmax(x, 1), made), BIG_SOFTMAX, { atol: 1e-6, rtol: 1e-6 });
        // Along dim 0 of the transposed view: a strided line, the other loop of every kernel.
        const xt = own(transpose(x, 0, 1), made);
        const transposed = BIG_LOG_SOFTMAX[0].map((_, j) => BIG_LOG_SOFTMAX.map((row) => row[j]));
        await expectTensor(own(logSoftmax(xt, 0), made), transposed, { atol: 1e-6, rtol: 1e-6 });
        // Rows of 9: whole SIMD vectors and a tail in vectorised kernels. torch: -log(9).
        const wide = own(tensor([Array(9).fill(1e30), Array(9).fill(-1e15)], { device: device() }), made);
        await expectTensor(own(logSoftmax(wide, 1), made), Array(18).fill(-2.1972246170043945), { shape: [2, 9], atol: 1e-6, rtol: 1e-6 });
        for (const t of made) t.dispose();
      });
      it(`crossEntropy values and gradients at extreme logits (${path} path)`, async () => {
        const made: Tensor[] = [];
        const x = own(tensor(BIG, { device: device(), requiresGrad: true }), made);
        const target = own(tensor([0, 1, 2, 1], { dtype: 'int32', device: device() }), made);
        const loss = own(F.crossEntropy(x, target, { reduction: 'none' }), made);
        await expectTensor(loss, BIG_CE, { atol: 1e-6, rtol: 1e-6 });
        const [g] = gradients(own(sum(loss), made), [x]);
        await expectTensor(own(g as Tensor, made), BIG_CE_GRAD, { atol: 1e-6, rtol: 1e-6 });
        for (const t of made) t.dispose();
      });
    }
  });

  describe('huge shapes', () => {
    it('zeros([1e6, 1e6]) names the op, the shape and the bytes', () => {
      const e = thrown(() => zeros([1e6, 1e6]));
      expect(e).toBeInstanceOf(GhostFlowError);
      expect(e.message).toContain('[1000000, 1000000]');
      expect(e.message).toContain('4000000000000 bytes');
      expect(e.message).toContain('full()');
    });
    it('arange(1e12), ones, empty and rand are refused the same way', () => {
      const e = thrown(() => arange(1e12));
      expect(e).toBeInstanceOf(GhostFlowError);
      expect(e.message).toMatch(/arange\(\).*\[1000000000000\].*4000000000000 bytes/);
      for (const [what, fn] of [
        ['full()', () => ones([65536, 65536, 2])],
        ['full()', () => zeros([3e9, 3e9], { dtype: 'bool' })],
        ['rand()', () => rand([1e5, 1e5])],
        ['full()', () => full([2 ** 20, 2 ** 20], true)],
      ] as const) {
        const err = thrown(fn);
        expect(err).toBeInstanceOf(GhostFlowError);
        expect(err.message).toContain(what);
        expect(err.message).toMatch(/\d+ bytes/);
      }
    });
    it('sizes above 2^53 are refused as not safe integers', () => {
      const e = thrown(() => zeros([2 ** 60, 0]));
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.message).toContain('2^53');
      expect(thrown(() => tensor([], { shape: [2 ** 54, 0] }))).toBeInstanceOf(ShapeError);
      // Views share the check: reshape and expand refuse such sizes too.
      const made: Tensor[] = [];
      const e0 = own(zeros([0]), made);
      expect(thrown(() => e0.reshape([2 ** 60, 0])).message).toContain('2^53');
      const one = own(zeros([1]), made);
      expect(thrown(() => one.expand([2 ** 54])).message).toContain('2^53');
      expect(thrown(() => one.expand([1.5]))).toBeInstanceOf(ShapeError);
      for (const t of made) t.dispose();
    });
    it('a large shape with a 0 dim is still fine (no elements)', async () => {
      const z = zeros([2 ** 40, 0]);
      expect(z.shape).toEqual([2 ** 40, 0]);
      await expectTensor(z, [], { shape: [2 ** 40, 0] });
      z.dispose();
    });
  });

  describe('careless inputs', () => {
    it('a sparse array (hole) is refused, not skipped', () => {
      // Arrays with a hole at index 1, made without a sparse literal.
      const holey = (first: number, last?: number): number[] => {
        const a: number[] = new Array(last === undefined ? 2 : 3);
        a[0] = first;
        if (last !== undefined) a[2] = last;
        return a;
      };
      const e = thrown(() => tensor(holey(1, 3)));
      expect(e).toBeInstanceOf(GhostFlowError);
      expect(e.message).toContain('element [1] is a hole');
      const e2 = thrown(() => tensor([[1, 2], holey(3)]));
      expect(e2).toBeInstanceOf(GhostFlowError);
      expect(e2.message).toContain('element [1][1] is a hole');
    });
    it('manualSeed refuses a bad seed with a GhostFlowError', () => {
      for (const seed of [-1, 1.5, Number.NaN, 2 ** 60]) {
        const e = thrown(() => manualSeed(seed));
        expect(e).toBeInstanceOf(GhostFlowError);
        expect(e.message).toContain(String(seed));
      }
    });
    it('bernoulli refuses probabilities above 1 or NaN, like PyTorch', async (t) => {
      const made: Tensor[] = [];
      const ok = own(bernoulli(own(tensor([0, 1, 1, 0]), made)), made);
      await expectTensor(ok, [0, 1, 1, 0]);
      expect(thrown(() => bernoulli(1.5))).toBeInstanceOf(GhostFlowError);
      const probe = own(tensor([0.5]), made);
      // The values of a tensor p can only be checked without a device round trip where the
      // backend reads synchronously.
      if (!probe.backend.readSync) {
        for (const m of made) m.dispose();
        t.skip();
        return;
      }
      for (const bad of [1.5, Number.NaN, -0.25]) {
        const p = own(tensor([0.5, bad]), made);
        const e = thrown(() => bernoulli(p));
        expect(e).toBeInstanceOf(GhostFlowError);
        expect(e.message).toContain(`got ${bad} at flat index 1`);
      }
      for (const m of made) m.dispose();
    });
    it('crossEntropy names an out-of-range target like PyTorch (synchronous backends)', (t) => {
      const made: Tensor[] = [];
      const x = own(zeros([2, 4]), made);
      if (!x.backend.readSync) {
        x.dispose();
        t.skip();
        return;
      }
      const target = own(tensor([7, 0], { dtype: 'int32' }), made);
      const e = thrown(() => F.crossEntropy(x, target));
      expect(e).toBeInstanceOf(IndexError);
      expect(e.message).toContain('Target 7 is out of bounds');
      const ignored = own(tensor([-100, 3], { dtype: 'int32' }), made);
      own(F.crossEntropy(x, ignored), made);
      expect(thrown(() => F.nllLoss(x, own(tensor([0, -1], { dtype: 'int32' }), made))).message).toContain('Target -1 is out of bounds');
      for (const m of made) m.dispose();
    });
  });

  describe('layerNorm over a normalized shape with a 0 dim', () => {
    it('gives empty outputs and empty gradients, like PyTorch', async () => {
      const made: Tensor[] = [];
      const x = own(zeros([2, 3, 0], { requiresGrad: true }), made);
      const w = own(ones([3, 0], { requiresGrad: true }), made);
      const b = own(zeros([3, 0], { requiresGrad: true }), made);
      const y = own(layerNorm(x, [3, 0], w, b), made);
      expect(y.shape).toEqual([2, 3, 0]);
      const grads = gradients(own(sum(y), made), [x, w, b]);
      expect(grads.map((g) => g?.shape)).toEqual([
        [2, 3, 0],
        [3, 0],
        [3, 0],
      ]);
      for (const g of grads) if (g) made.push(g);
      const x2 = own(tensor([], { shape: [2, 0], requiresGrad: true }), made);
      const y2 = own(layerNorm(x2, [0]), made);
      const [g2] = gradients(own(sum(y2), made), [x2]);
      await expectTensor(own(g2 as Tensor, made), [], { shape: [2, 0] });
      for (const m of made) m.dispose();
    });
  });
}
