/**
 * The autograd suite: the reverse-mode engine driven through core's public API on the
 * backend under test: leaves and gradFns, implicit and explicit seeds, accumulation,
 * retainGraph, retainGrad, grad modes, detach, shared subexpressions, `gradients`,
 * functional `grad`/`valueAndGrad`, second derivatives, error messages, and `gradcheck`
 * telling a wrong gradient rule from a right one.
 */
import {
  AutogradError,
  GhostFlowError,
  type Tensor,
  add,
  backward,
  detach,
  enableGrad,
  gradcheck,
  grad,
  gradients,
  isGradEnabled,
  mul,
  noGrad,
  recordOp,
  tensor,
  tidy,
  valueAndGrad,
} from '@ghostflow/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { thrown } from '../checks.js';
import { type SuiteContext, expectTensor } from '../context.js';

/** `t.grad`, asserted to be set. */
function gradOf(t: Tensor): Tensor {
  const g = t.grad;
  if (!g) return expect.fail('expected .grad to be set');
  return g;
}

/** Disposes every tensor given (null/undefined ignored). */
function free(...ts: (Tensor | null | undefined)[]): void {
  for (const t of ts) t?.dispose();
}

/**
 * `x²` as a custom op recorded with `recordOp`; with `wrong`, its gradient rule returns
 * `3x·g` instead of `2x·g` (what gradcheck must catch).
 */
function customSquare(x: Tensor, wrong: boolean): Tensor {
  const out = noGrad(() => mul(x, x));
  recordOp({
    name: wrong ? 'wrongSquare' : 'customSquare',
    inputs: [x],
    outputs: [out],
    save: [x],
    backward: ([g], [xs]) => [mul(mul(g, xs), wrong ? 3 : 2)],
  });
  return out;
}

/** Registers the autograd tests. */
export function autogradSuite(ctx: SuiteContext): void {
  const opts = { device: ctx.device, requiresGrad: true } as const;
  beforeAll(() => ctx.activate());

  describe('graph bookkeeping', () => {
    it('leaves, requiresGrad and gradFn names', () => {
      const x = tensor([1, 2, 3], opts);
      const c = tensor([4, 5, 6], { device: ctx.device });
      expect(x.isLeaf).toBe(true);
      expect(x.requiresGrad).toBe(true);
      expect(x.gradFn).toBeNull();
      const y = mul(x, c);
      expect(y.isLeaf).toBe(false);
      expect(y.requiresGrad).toBe(true);
      expect(y.gradFn).toMatch(/mul/i);
      const s = y.sum();
      expect(s.gradFn).toMatch(/sum/i);
      const n = mul(c, 2);
      expect(n.requiresGrad).toBe(false);
      expect(n.isLeaf).toBe(true);
      expect(n.gradFn).toBeNull();
      expect(() => {
        y.requiresGrad = false;
      }).toThrow(/leaf/);
      free(x, c, y, s, n);
    });

    it('requiresGrad on an int32 or bool tensor throws', () => {
      const i = tensor([1, 2], { device: ctx.device, dtype: 'int32' });
      const e = thrown(() => {
        i.requiresGrad = true;
      });
      expect(e).toBeInstanceOf(GhostFlowError);
      expect(e.message).toMatch(/float/);
      expect(e.message).toContain('int32');
      expect(() => tensor([true, false], { device: ctx.device, requiresGrad: true })).toThrow(/float/);
      free(i);
    });
  });

  describe('backward', () => {
    it('seeds a scalar output with ones', async () => {
      const x = tensor([1, 2, 3], opts);
      const y = mul(x, x).sum();
      y.backward();
      await expectTensor(gradOf(x), [2, 4, 6]);
      free(x, y);
    });

    it('takes an explicit gradient for a non-scalar output', async () => {
      const x = tensor([1, 2, 3], opts);
      const y = mul(x, x);
      const g = tensor([1, 0.5, -1], { device: ctx.device });
      y.backward(g);
      await expectTensor(gradOf(x), [2, 2, -6]);
      await expectTensor(g, [1, 0.5, -1]);
      free(x, y, g);
    });

    it('backward() of several outputs at once sums their contributions', async () => {
      const x = tensor([1, 2], opts);
      const a = mul(x, 3).sum();
      const b = mul(x, x).sum();
      backward([a, b]);
      await expectTensor(gradOf(x), [5, 7]);
      free(x, a, b);
    });

    it('accumulates into .grad over two backward calls', async () => {
      const x = tensor([1, 2, 3], opts);
      for (let k = 0; k < 2; k++) {
        const y = mul(x, 3).sum();
        y.backward();
        y.dispose();
      }
      await expectTensor(gradOf(x), [6, 6, 6]);
      x.grad = null;
      expect(x.grad).toBeNull();
      free(x);
    });

    it('a second backward through a freed graph throws naming retainGraph; with it, grads accumulate', async () => {
      const x = tensor([0, 1], opts);
      const y = x.exp().sum();
      y.backward();
      const e = thrown(() => y.backward());
      expect(e).toBeInstanceOf(AutogradError);
      expect(e.message).toContain('retainGraph');
      free(y);
      x.grad = null;
      const z = x.exp().sum();
      z.backward(null, { retainGraph: true });
      z.backward();
      await expectTensor(gradOf(x), [2, 2 * Math.E], { rtol: 1e-5 });
      free(x, z);
    });

    it('retainGrad keeps the gradient of a non-leaf', async () => {
      const x = tensor([1, -2], opts);
      const h = mul(x, 2);
      const other = mul(x, 3);
      h.retainGrad();
      const out = mul(h, h).add(other).sum();
      out.backward();
      await expectTensor(gradOf(h), [4, -8]);
      expect(other.grad).toBeNull();
      await expectTensor(gradOf(x), [11, -13]);
      free(x, h, other, out);
    });

    it('the seed gradient of a leaf output is ones', async () => {
      const x = tensor([7], opts);
      x.backward();
      await expectTensor(gradOf(x), [1]);
      free(x);
    });

    it('throws for a non-scalar output without a gradient, naming its shape', () => {
      const x = tensor(
        [
          [1, 2],
          [3, 4],
        ],
        opts,
      );
      const y = mul(x, 2);
      const e = thrown(() => y.backward());
      expect(e).toBeInstanceOf(AutogradError);
      expect(e.message).toMatch(/scalar/);
      expect(e.message).toContain('[2, 2]');
      const wrong = tensor([1, 2], { device: ctx.device });
      const f = thrown(() => y.backward(wrong));
      expect(f.message).toContain('[2]');
      expect(f.message).toContain('[2, 2]');
      free(x, y, wrong);
    });

    it('throws for an output that does not require grad', () => {
      const x = tensor([1, 2], { device: ctx.device });
      const y = mul(x, 2).sum();
      const e = thrown(() => y.backward());
      expect(e).toBeInstanceOf(AutogradError);
      expect(e.message).toMatch(/does not require grad/);
      free(x, y);
    });
  });

  describe('post-accumulate-grad hooks', () => {
    it('run once per backward after .grad holds the new total; remove() stops them', async () => {
      const a = tensor([1, 2], opts);
      const b = tensor([3], opts);
      const seen: string[] = [];
      const totals: Tensor[] = [];
      const ha = a.registerPostAccumulateGradHook((t) => {
        expect(t).toBe(a);
        seen.push('a');
        totals.push(gradOf(a).clone());
      });
      b.registerPostAccumulateGradHook(() => seen.push('b'));
      for (let k = 0; k < 2; k++) {
        const y = mul(mul(b, 2).sum(), a.sum().mul(a.sum()));
        y.backward();
        y.dispose();
      }
      // dy/da = 2·(2b)·sum(a) = 36 per element; accumulated twice.
      expect(totals).toHaveLength(2);
      await expectTensor(totals[0], [36, 36]);
      await expectTensor(totals[1], [72, 72]);
      expect(seen.filter((s) => s === 'a')).toHaveLength(2);
      expect(seen.filter((s) => s === 'b')).toHaveLength(2);
      ha.remove();
      const z = a.sum();
      z.backward();
      expect(seen).toHaveLength(4);
      free(a, b, z, ...totals);
    });

    it('gradients() does not call them; non-leaves and leaves without grad refuse them', () => {
      const x = tensor([1, 2], opts);
      let calls = 0;
      x.registerPostAccumulateGradHook(() => calls++);
      const y = mul(x, x).sum();
      const [g] = gradients(y, [x]);
      expect(calls).toBe(0);
      const e = thrown(() => y.registerPostAccumulateGradHook(() => {}));
      expect(e).toBeInstanceOf(GhostFlowError);
      expect(e.message).toMatch(/non-leaf/);
      const c = tensor([1], { device: ctx.device });
      expect(thrown(() => c.registerPostAccumulateGradHook(() => {})).message).toMatch(/requiresGrad=false/);
      free(x, y, g, c);
    });
  });

  describe('grad mode and detach', () => {
    it('noGrad records nothing; enableGrad inside it records again', () => {
      const x = tensor([1, 2], opts);
      expect(isGradEnabled()).toBe(true);
      const [a, b] = noGrad(() => {
        expect(isGradEnabled()).toBe(false);
        const inner = mul(x, 2);
        const re = enableGrad(() => mul(x, 2));
        return [inner, re];
      });
      expect(isGradEnabled()).toBe(true);
      expect(a.requiresGrad).toBe(false);
      expect(a.gradFn).toBeNull();
      expect(b.requiresGrad).toBe(true);
      expect(b.gradFn).toMatch(/mul/i);
      free(x, a, b);
    });

    it('noGrad restores the mode after a throw', () => {
      expect(() =>
        noGrad(() => {
          throw new Error('inside');
        }),
      ).toThrow('inside');
      expect(isGradEnabled()).toBe(true);
    });

    it('detach gives a leaf sharing data that stops the gradient', async () => {
      const x = tensor([1, 2, 3], opts);
      const y = mul(x, 2);
      const d = detach(y);
      expect(d.isLeaf).toBe(true);
      expect(d.requiresGrad).toBe(false);
      await expectTensor(d, [2, 4, 6]);
      const z = mul(d, x).sum();
      z.backward();
      await expectTensor(gradOf(x), [2, 4, 6]);
      const viaMethod = y.detach();
      expect(viaMethod.gradFn).toBeNull();
      free(x, y, d, z, viaMethod);
    });
  });

  describe('graph shapes', () => {
    it('a diamond (shared subexpression) sums both paths', async () => {
      const xs = [0.5, -1, 2];
      const x = tensor(xs, opts);
      const a = mul(x, 2);
      const out = add(a.exp(), mul(a, a)).sum();
      out.backward();
      await expectTensor(
        gradOf(x),
        xs.map((v) => 2 * Math.exp(2 * v) + 8 * v),
        { rtol: 1e-5 },
      );
      free(x, a, out);
    });

    it('the same tensor used twice by one op', async () => {
      const x = tensor([1, -2, 3], opts);
      const s = add(x, x).sum();
      s.backward();
      await expectTensor(gradOf(x), [2, 2, 2]);
      x.grad = null;
      const p = mul(x, x).sum();
      p.backward();
      await expectTensor(gradOf(x), [2, -4, 6]);
      free(x, s, p);
    });

    it('broadcasting ops reduce the gradient back to the input shape', async () => {
      const w = tensor([[1], [2]], opts);
      const b = tensor([10, 20, 30], opts);
      const out = mul(w, b).sum();
      out.backward();
      await expectTensor(gradOf(w), [[60], [60]]);
      await expectTensor(gradOf(b), [3, 3, 3]);
      free(w, b, out);
    });
  });

  describe('gradients() and functional grad', () => {
    it('returns gradients without touching .grad; allowUnused gives null', async () => {
      const x = tensor([1, 2], opts);
      const z = tensor([5], opts);
      const y = mul(x, 3).sum();
      const e = thrown(() => gradients(y, [x, z], null, { retainGraph: true }));
      expect(e).toBeInstanceOf(AutogradError);
      expect(e.message).toMatch(/input 1/);
      expect(e.message).toMatch(/allowUnused/);
      const [gx, gz] = gradients(y, [x, z], null, { allowUnused: true });
      expect(gz).toBeNull();
      await expectTensor(gx as Tensor, [3, 3]);
      expect(x.grad).toBeNull();
      expect(z.grad).toBeNull();
      free(x, z, y, gx);
    });

    it('gradients() of a non-leaf input', async () => {
      const x = tensor([1, 2], opts);
      const h = mul(x, x);
      const y = mul(h, 3).sum();
      const [gh] = gradients(y, [h]);
      await expectTensor(gh as Tensor, [3, 3]);
      free(x, h, y, gh);
    });

    it('grad(fn) returns d fn / d input and leaves the inputs alone', async () => {
      const t = tensor([1, -2, 3], { device: ctx.device });
      const [g] = grad((x) => mul(x, x).sum())(t);
      await expectTensor(g, [2, -4, 6]);
      expect(t.requiresGrad).toBe(false);
      expect(t.grad).toBeNull();
      expect(t.isDisposed).toBe(false);
      free(t, g);
    });

    it('valueAndGrad returns the value (outside any graph) and every gradient', async () => {
      const a = tensor([1, 2], { device: ctx.device });
      const b = tensor([3, -4], { device: ctx.device });
      const unused = tensor([9], { device: ctx.device });
      const { value, grads } = valueAndGrad((p, q) => mul(p, q).sum())(a, b, unused);
      await expectTensor(value, -5);
      expect(value.requiresGrad).toBe(false);
      await expectTensor(grads[0], [3, -4]);
      await expectTensor(grads[1], [1, 2]);
      await expectTensor(grads[2], [0]);
      free(a, b, unused, value, ...grads);
    });
  });

  describe('higher order', () => {
    it('createGraph gives a differentiable gradient: d²/dx² x³ = 6x (x·x·x)', async () => {
      const x = tensor([1, 2, -3], opts);
      const y = mul(mul(x, x), x).sum();
      const [g] = gradients(y, [x], null, { createGraph: true });
      await expectTensor(g as Tensor, [3, 12, 27]);
      expect(g?.requiresGrad, 'first derivative computed with createGraph must require grad').toBe(true);
      const gs = (g as Tensor).sum();
      const [g2] = gradients(gs, [x]);
      await expectTensor(g2 as Tensor, [6, 12, -18]);
      free(x, y, g, gs, g2);
    });

    it('createGraph through an op whose rule passes the gradient straight on (broadcast add, then tanh)', async () => {
      // add's rule hands its incoming gradient to x unchanged; that hand-over must stay in
      // the recorded graph, or the second derivative loses tanh's dependence on x.
      for (const bValues of [[0.1, 0.1, 0.1], [0.1]]) {
        const x = tensor([0.3, -0.5, 0.8], opts);
        const b = tensor(bValues, opts);
        const y = add(x, b).tanh().sum();
        const [g] = gradients(y, [x], null, { createGraph: true });
        expect(g?.requiresGrad).toBe(true);
        const gs = (g as Tensor).sum();
        const [g2] = gradients(gs, [x]);
        const want = [0.4, -0.4, 0.9].map((u) => -2 * Math.tanh(u) * (1 - Math.tanh(u) ** 2));
        await expectTensor(g2 as Tensor, want, { shape: [3], atol: 1e-5, rtol: 1e-4 });
        free(x, b, y, g, gs, g2);
      }
    });

    it('createGraph is right even when the forward intermediates were freed by tidy', async () => {
      const x = tensor([1, 2, -3], opts);
      // x·x is saved by the outer mul but disposed by tidy: its place in the graph must survive
      const y = tidy(() => mul(mul(x, x), x).sum());
      const [g] = gradients(y, [x], null, { createGraph: true });
      await expectTensor(g as Tensor, [3, 12, 27]);
      const gs = (g as Tensor).sum();
      const [g2] = gradients(gs, [x]);
      await expectTensor(g2 as Tensor, [6, 12, -18]);
      free(x, y, g, gs, g2);
    });

    it('createGraph through pow: d²/dx² x³ = 6x', async () => {
      const x = tensor([0.5, 2], opts);
      const y = x.pow(3).sum();
      y.backward(null, { createGraph: true });
      const g = gradOf(x);
      await expectTensor(g, [0.75, 12]);
      const [g2] = gradients(g.sum(), [x]);
      await expectTensor(g2 as Tensor, [3, 12]);
      free(x, y, g2);
    });
  });

  describe('gradcheck', () => {
    it('passes built-in ops and a correct custom rule', async () => {
      const x = tensor([0.5, -1.2, 2], { device: ctx.device });
      const y = tensor([1.5, 0.3, -0.7], { device: ctx.device });
      const builtin = await gradcheck((a, b) => mul(a.exp(), b), [x, y]);
      expect(builtin.mismatches).toEqual([]);
      expect(builtin.ok).toBe(true);
      const custom = await gradcheck((a) => customSquare(a, false), [x]);
      expect(custom.mismatches).toEqual([]);
      expect(custom.ok).toBe(true);
      free(x, y);
    });

    it('detects a deliberately wrong gradient rule', async () => {
      const x = tensor([0.5, -1.2, 2], { device: ctx.device });
      const result = await gradcheck((a) => customSquare(a, true), [x]);
      expect(result.ok).toBe(false);
      expect(result.mismatches.length).toBeGreaterThan(0);
      for (const m of result.mismatches) {
        expect(m.input).toBe(0);
        expect(m.analytic).not.toBeCloseTo(m.numeric, 2);
      }
      free(x);
    });

    it('recordOp attaches the custom rule under its name', async () => {
      const x = tensor([3], opts);
      const y = customSquare(x, false);
      expect(y.gradFn).toBe('customSquare');
      y.backward();
      await expectTensor(gradOf(x), [6]);
      free(x, y);
    });
  });
}
