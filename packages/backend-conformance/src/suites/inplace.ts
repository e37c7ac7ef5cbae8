/**
 * The in-place suite: PyTorch's mutation semantics on the backend under test. In-place ops
 * write through the `write` kernel into the tensor's own buffer (views see it, identity is
 * kept), bump the version counter, follow PyTorch's autograd rules (leaf refusals,
 * `rebase_history`, CopySlices for written views, stale views refreshed), and refuse to
 * backward through values an in-place op changed after they were saved. Expected values
 * are PyTorch 1.13's.
 */
import {
  AutogradError,
  DTypeError,
  GhostFlowError,
  ShapeError,
  type Tensor,
  arange,
  manualSeed,
  memory,
  noGrad,
  ones,
  tensor,
  zeros,
} from '@ghostflow/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectGradcheck, thrown } from '../checks.js';
import { type SuiteContext, expectTensor } from '../context.js';

/** Registers the in-place tests. */
export function inplaceSuite(ctx: SuiteContext): void {
  const dev = { device: ctx.device } as const;
  beforeAll(() => ctx.activate());

  const leaf = (values: number[]): Tensor => tensor(values, { ...dev, requiresGrad: true });

  describe('values and identity', () => {
    it('writes into the tensor itself: the same object is returned, every view sees it, the version goes up', async () => {
      const x = arange(6, dev).reshape(2, 3);
      const row = x.select(0, 1);
      const col = x.select(1, 2);
      expect(x.version).toBe(0);
      const r = row.add_(10);
      expect(r).toBe(row);
      expect(x.version).toBe(1);
      expect(col.version).toBe(1);
      await expectTensor(x, [
        [0, 1, 2],
        [13, 14, 15],
      ]);
      await expectTensor(col, [2, 15]);
      x.t().mul_(2);
      await expectTensor(x, [
        [0, 2, 4],
        [26, 28, 30],
      ]);
      expect(row.version).toBe(2);
      for (const t of [x, row, col]) t.dispose();
    });

    it('matches the out-of-place ops for every binary and select form (alpha, broadcasting, scalars)', async () => {
      const base = [1.5, -2, 3, 0.25, -4, 5];
      const t = () => tensor(base, dev).reshape(2, 3);
      const other = tensor([2, -1, 0.5], dev);
      const cases: [string, (x: Tensor) => Tensor, number[]][] = [
        ['add_', (x) => x.add_(other, { alpha: 2 }), [5.5, -4, 4, 4.25, -6, 6]],
        ['sub_', (x) => x.sub_(other), [-0.5, -1, 2.5, -1.75, -3, 4.5]],
        ['mul_', (x) => x.mul_(other), [3, 2, 1.5, 0.5, 4, 2.5]],
        ['div_', (x) => x.div_(other), [0.75, 2, 6, 0.125, 4, 10]],
        ['pow_', (x) => x.pow_(2), [2.25, 4, 9, 0.0625, 16, 25]],
        ['clamp_', (x) => x.clamp_(-1, 2), [1.5, -1, 2, 0.25, -1, 2]],
        ['maskedFill_', (x) => x.maskedFill_(tensor([true, false, true], dev), -7), [-7, -2, -7, -7, -4, -7]],
        ['addcmul_', (x) => x.addcmul_(other, other, { value: 0.5 }), [3.5, -1.5, 3.125, 2.25, -3.5, 5.125]],
        ['addcdiv_', (x) => x.addcdiv_(other, other, { value: 3 }), [4.5, 1, 6, 3.25, -1, 8]],
        ['lerp_', (x) => x.lerp_(other, 0.25), [1.625, -1.75, 2.375, 0.6875, -3.25, 3.875]],
        ['copy_', (x) => x.copy_(other), [2, -1, 0.5, 2, -1, 0.5]],
        ['fill_', (x) => x.fill_(3.5), [3.5, 3.5, 3.5, 3.5, 3.5, 3.5]],
        ['zero_', (x) => x.zero_(), [0, 0, 0, 0, 0, 0]],
      ];
      for (const [name, fn, want] of cases) {
        const x = t();
        expect(fn(x), name).toBe(x);
        await expectTensor(x, want, { shape: [2, 3] });
        x.dispose();
      }
      other.dispose();
    });

    it('matches the out-of-place op for every unary in-place op', async () => {
      const values = [0.5, -1.25, 2, 0.75];
      const names = [
        'neg',
        'abs',
        'sign',
        'exp',
        'expm1',
        'sin',
        'cos',
        'tanh',
        'sigmoid',
        'relu',
        'silu',
        'erf',
        'floor',
        'ceil',
        'round',
        'square',
      ] as const;
      for (const name of names) {
        const x = tensor(values, dev);
        const want = tensor(values, dev)[name]();
        const got = x[`${name}_`]();
        expect(got).toBe(x);
        await expectTensor(x, Array.from(await want.data()), { shape: [4], atol: 0, rtol: 0 });
        x.dispose();
        want.dispose();
      }
      const pos = tensor([0.5, 4, 2.25], dev);
      await expectTensor(pos.clone().sqrt_(), [Math.sqrt(0.5), 2, 1.5]);
      await expectTensor(pos.clone().log_(), [Math.log(0.5), Math.log(4), Math.log(2.25)]);
      await expectTensor(pos.clone().rsqrt_(), [1 / Math.sqrt(0.5), 0.5, 1 / 1.5]);
      await expectTensor(pos.clone().reciprocal_(), [2, 0.25, 1 / 2.25]);
      await expectTensor(pos.clone().log1p_(), [Math.log1p(0.5), Math.log1p(4), Math.log1p(2.25)]);
      pos.dispose();
    });

    it('copy_ broadcasts and converts dtypes like PyTorch (float to int32 truncates); fill_ takes a 0-d tensor', async () => {
      const i = zeros([2, 2], { ...dev, dtype: 'int32' });
      i.copy_(tensor([1.9, -2.7], dev));
      await expectTensor(i, [
        [1, -2],
        [1, -2],
      ]);
      const f = zeros([3], dev);
      f.copy_(tensor([1, 2, 3], { ...dev, dtype: 'int32' }));
      await expectTensor(f, [1, 2, 3], { dtype: 'float32' });
      f.fill_(tensor(-0.5, dev));
      await expectTensor(f, [-0.5, -0.5, -0.5]);
      const b = zeros([2], { ...dev, dtype: 'bool' });
      b.fill_(true);
      await expectTensor(b, [true, true]);
      i.add_(3);
      await expectTensor(i, [
        [4, 1],
        [4, 1],
      ]);
      for (const t of [i, f, b]) t.dispose();
    });

    it('writes into strided and stepped views (a transposed block, every other element)', async () => {
      const x = zeros([3, 4], dev);
      x.slice(1, 0, 4, 2).copy_(ones([3, 2], dev));
      x.slice(0, 1, 3)
        .t()
        .add_(
          tensor(
            [
              [1, 2],
              [3, 4],
              [5, 6],
              [7, 8],
            ],
            dev,
          ),
        );
      await expectTensor(x, [
        [1, 0, 1, 0],
        [2, 3, 6, 7],
        [3, 4, 7, 8],
      ]);
      x.dispose();
    });

    it('uniform_ and normal_ draw from the seeded generator, in range, the same numbers after the same seed', async () => {
      manualSeed(7);
      const a = zeros([1000], dev).uniform_(-2, 3);
      manualSeed(7);
      const b = zeros([1000], dev).uniform_(-2, 3);
      const av = Array.from(await a.data());
      expect(av).toEqual(Array.from(await b.data()));
      expect(Math.min(...av)).toBeGreaterThanOrEqual(-2);
      expect(Math.max(...av)).toBeLessThan(3);
      expect(Math.abs(av.reduce((s, v) => s + v, 0) / av.length - 0.5)).toBeLessThan(0.15);
      const n = zeros([4000], dev).normal_(1, 2);
      const nv = Array.from(await n.data());
      const mean = nv.reduce((s, v) => s + v, 0) / nv.length;
      const sd = Math.sqrt(nv.reduce((s, v) => s + (v - mean) ** 2, 0) / nv.length);
      expect(Math.abs(mean - 1)).toBeLessThan(0.1);
      expect(Math.abs(sd - 2)).toBeLessThan(0.1);
      expect(() => zeros([2], { ...dev, dtype: 'int32' }).uniform_()).toThrow(DTypeError);
      expect(() => zeros([2], dev).uniform_(1, 0)).toThrow(GhostFlowError);
      expect(() => zeros([2], dev).normal_(0, -1)).toThrow(GhostFlowError);
      for (const t of [a, b, n]) t.dispose();
    });

    it('allocates nothing that outlives the op', () => {
      const x = zeros([4, 4], dev);
      const y = ones([4], dev);
      const before = memory(ctx.device).buffers;
      const rows = x.add_(y).mul_(2).exp_().clamp_(0, 5).copy_(y).slice(0, 1, 3).fill_(2);
      expect(memory(ctx.device).buffers).toBe(before);
      rows.dispose();
      x.dispose();
      y.dispose();
    });
  });

  describe('refusals (PyTorch messages)', () => {
    it('refuses a result that broadcasts beyond the tensor or cannot be cast to its dtype', () => {
      const x = zeros([3], dev);
      const e = thrown(() => x.add_(zeros([2, 3], dev)));
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.message).toContain("output with shape [3] doesn't match the broadcast shape [2, 3]");
      const i = zeros([3], { ...dev, dtype: 'int32' });
      const d = thrown(() => i.add_(0.5));
      expect(d).toBeInstanceOf(DTypeError);
      expect(d.message).toContain("result type float32 can't be cast to the desired output type int32");
      expect(() => i.div_(2)).toThrow(DTypeError);
      const f = thrown(() => x.fill_(ones([2], dev)));
      expect(f.message).toContain('only supports 0-dimension value tensor');
      x.dispose();
      i.dispose();
    });

    it('refuses to write into an expanded tensor (several elements share one location)', () => {
      const x = zeros([3], dev);
      const e = thrown(() => x.expand(2, 3).add_(1));
      expect(e.message).toContain('more than one element of the written-to tensor refers to a single memory location');
      x.dispose();
    });

    it('refuses a leaf that requires grad, and views of it, unless grad is off (as optimizers do)', async () => {
      const w = leaf([1, 2, 3]);
      const e = thrown(() => w.add_(1));
      expect(e).toBeInstanceOf(AutogradError);
      expect(e.message).toContain('a leaf Variable that requires grad is being used in an in-place operation');
      const v = thrown(() => w.slice(0, 0, 2).mul_(2));
      expect(v.message).toContain('a view of a leaf Variable that requires grad is being used in an in-place operation');
      noGrad(() => {
        w.slice(0, 1, 3).mul_(10);
        w.sub_(1);
      });
      await expectTensor(w, [0, 19, 29]);
      expect(w.isLeaf && w.requiresGrad).toBe(true);
      w.dispose();
    });

    it('refuses to backward through a saved tensor modified since, naming the op and the versions', () => {
      const w = leaf([1, 2, 3]);
      const x = w.mul(2);
      const z = x.mul(x);
      x.add_(1);
      const loss = z.sum();
      const e = thrown(() => loss.backward());
      expect(e).toBeInstanceOf(AutogradError);
      expect(e.message).toContain('modified by an inplace operation');
      expect(e.message).toContain('[float32 [3]]');
      expect(e.message).toContain('is at version 1; expected version 0 instead');
      expect(e.message).toContain("'mul'");
      for (const t of [w, x, z, loss]) t.dispose();
    });

    it('also catches an op whose saved output was modified (exp saves its result)', () => {
      const w = leaf([0.5, 1]);
      const y = w.mul(1).exp();
      y.mul_(2);
      const loss = y.sum();
      expect(() => loss.backward()).toThrow(/modified by an inplace operation/);
      for (const t of [w, y, loss]) t.dispose();
    });

    it('detach_ makes a non-view a leaf outside the graph and refuses views', () => {
      const w = leaf([1, 2]);
      const h = w.mul(2);
      expect(h.detach_()).toBe(h);
      expect(h.isLeaf).toBe(true);
      expect(h.requiresGrad).toBe(false);
      const v = w.mul(3);
      expect(() => v.slice(0, 0, 1).detach_()).toThrow("Can't detach views in-place");
      for (const t of [w, h, v]) t.dispose();
    });
  });

  describe('autograd through in-place ops', () => {
    it('a tensor that needs no grad takes the op history when an operand requires grad (s.mul_(w))', async () => {
      const w = leaf([1, 2, 3]);
      const s = tensor([4, 5, 6], dev);
      s.mul_(w);
      expect(s.requiresGrad).toBe(true);
      expect(s.gradFn).toBe('mul');
      const loss = s.sum();
      loss.backward();
      await expectTensor(w.grad as Tensor, [4, 5, 6]);
      for (const t of [w, s, loss]) t.dispose();
    });

    it('a chain of in-place ops on a non-leaf backpropagates like its out-of-place twin', async () => {
      const w = leaf([0.5, -1, 2]);
      const h = w.mul(2);
      h.exp_().mul_(w).sub_(1);
      const loss = h.sum();
      loss.backward();
      // d/dw [exp(2w) * w] = exp(2w) (2w + 1)
      await expectTensor(
        w.grad as Tensor,
        [0.5, -1, 2].map((v) => Math.exp(2 * v) * (2 * v + 1)),
        { rtol: 1e-5 },
      );
      for (const t of [w, h, loss]) t.dispose();
    });

    it('writing a view of a non-leaf gives the base a CopySlices history (PyTorch: w.grad [6, 8, 4, 2])', async () => {
      const w = leaf([1, 2, 3, 4]);
      const h = w.mul(2);
      const v = h.slice(0, 1, 3);
      const w01 = w.slice(0, 0, 2);
      v.mul_(w01);
      expect(h.gradFn).toBe('copySlices');
      await expectTensor(h, [2, 4, 12, 8]);
      const loss = h.sum();
      loss.backward();
      await expectTensor(w.grad as Tensor, [6, 8, 4, 2]);
      for (const t of [w, h, v, w01, loss]) t.dispose();
    });

    it('a view taken before its base was modified in place follows the new history (PyTorch: [6, 6, 0, 0])', async () => {
      const w = leaf([1, 2, 3, 4]);
      const h = w.mul(2);
      const v = h.slice(0, 0, 2);
      h.mul_(3);
      const loss = v.mul(1).sum();
      loss.backward();
      await expectTensor(w.grad as Tensor, [6, 6, 0, 0]);
      for (const t of [w, h, v, loss]) t.dispose();
    });

    it('gives the overwritten values a zero gradient (fill_, copy_ of a constant)', async () => {
      const w = leaf([1, 2, 3]);
      const h = w.mul(5);
      h.slice(0, 0, 1).fill_(0);
      h.slice(0, 2, 3).copy_(tensor([9], dev));
      const loss = h.sum();
      loss.backward();
      await expectTensor(w.grad as Tensor, [0, 5, 0]);
      for (const t of [w, h, loss]) t.dispose();
    });

    it('passes gradcheck through in-place ops on intermediates and their views', async () => {
      await expectGradcheck(
        (x, y) => {
          const h = x.mul(1.5);
          h.mul_(y).sin_();
          h.slice(0, 1, 3).add_(y.slice(0, 0, 2).square());
          return h;
        },
        [tensor([0.3, -0.8, 1.1, 0.4], { ...dev, requiresGrad: true }), tensor([0.9, 0.2, -0.6, 1.3], { ...dev, requiresGrad: true })],
      );
    });
  });
}
