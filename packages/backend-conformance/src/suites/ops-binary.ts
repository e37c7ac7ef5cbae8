/**
 * Binary elementwise ops: values and gradients against PyTorch (cases/elementwise.json),
 * broadcasting (0-d, size-1 dims, scalars on either side), type promotion, int32/bool paths,
 * NaN/inf, non-contiguous and empty inputs, errors, and a gradcheck of every differentiable op.
 */
import * as gf from '@ghostflow/core';
import { BINARY_OPS, type Tensor, gradcheck, gradients, tensor } from '@ghostflow/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { casesFor, runCase } from '../cases.js';
import { type SuiteContext, expectTensor } from '../context.js';

/** Registers the tests of this area. */
export function opsBinarySuite(ctx: SuiteContext): void {
  beforeAll(() => ctx.activate());

  describe('values and gradients vs PyTorch', () => {
    for (const name of casesFor(BINARY_OPS)) {
      it(name, () => runCase(name, ctx.device));
    }
  });

  describe('type promotion', () => {
    const f = () => tensor([1.5, 2], { device: ctx.device });
    const i = () => tensor([3, 4], { dtype: 'int32', device: ctx.device });
    const b = () => tensor([true, false], { device: ctx.device });
    const cases: [string, () => Tensor, string][] = [
      ['int32 + int32', () => gf.add(i(), i()), 'int32'],
      ['int32 + 2', () => gf.add(i(), 2), 'int32'],
      ['int32 + 2.5', () => gf.add(i(), 2.5), 'float32'],
      ['int32 + true', () => gf.add(i(), true), 'int32'],
      ['int32 + float32', () => gf.add(i(), f()), 'float32'],
      ['bool + bool', () => gf.add(b(), b()), 'bool'],
      ['bool + 1', () => gf.add(b(), 1), 'int32'],
      ['bool + 0.5', () => gf.add(b(), 0.5), 'float32'],
      ['bool * int32', () => gf.mul(b(), i()), 'int32'],
      ['float32 * 2', () => gf.mul(f(), 2), 'float32'],
      ['int32 / int32 (true division)', () => gf.div(i(), i()), 'float32'],
      ['int32 / 2', () => gf.div(i(), 2), 'float32'],
      ['int32 ** 2', () => gf.pow(i(), 2), 'int32'],
      ['int32 ** 0.5', () => gf.pow(i(), 0.5), 'float32'],
      ['2 ** int32', () => gf.pow(2, i()), 'int32'],
      ['2.0 ** int32 (2.5)', () => gf.pow(2.5, i()), 'float32'],
      ['maximum(int32, 0.5)', () => gf.maximum(i(), 0.5), 'float32'],
      ['int32 < 3.5', () => gf.lt(i(), 3.5), 'bool'],
      ['logicalAnd(float32, int32)', () => gf.logicalAnd(f(), i()), 'bool'],
      ['number + number', () => gf.add(1, 2), 'int32'],
      ['number + fraction', () => gf.add(1, 0.5), 'float32'],
      ['0-d int32 + float32 scalar', () => gf.add(tensor(3, { dtype: 'int32', device: ctx.device }), 0.5), 'float32'],
    ];
    for (const [name, make, dtype] of cases) {
      it(name, () => {
        expect(make().dtype).toBe(dtype);
      });
    }

    it('scalars on either side and 0-d tensors broadcast', async () => {
      await expectTensor(gf.sub(10, tensor([1, 2], { device: ctx.device })), [9, 8]);
      await expectTensor(gf.div(1, tensor([2, 4], { device: ctx.device })), [0.5, 0.25]);
      await expectTensor(gf.add(tensor(1, { device: ctx.device }), tensor([[1], [2]], { device: ctx.device })), [[2], [3]]);
      await expectTensor(gf.mul(tensor([[1, 2, 3]], { device: ctx.device }), tensor([[1], [2]], { device: ctx.device })), [
        [1, 2, 3],
        [2, 4, 6],
      ]);
      const zeroD = gf.add(tensor(1.5, { device: ctx.device }), tensor(2, { device: ctx.device }));
      await expectTensor(zeroD, 3.5, { shape: [] });
      await expectTensor(gf.add(tensor([[1, 2]], { device: ctx.device }).expand(3, 2), 1), [
        [2, 3],
        [2, 3],
        [2, 3],
      ]);
      await expectTensor(gf.add(gf.zeros([0, 2], { device: ctx.device }), gf.zeros([1, 2], { device: ctx.device })), [], { shape: [0, 2] });
      await expectTensor(gf.add(gf.zeros([2, 0], { device: ctx.device }), 1), [], { shape: [2, 0] });
    });

    it('integer pow follows integer semantics for negative exponents', async () => {
      const base = tensor([2, -1, 1, -2], { dtype: 'int32', device: ctx.device });
      await expectTensor(gf.pow(base, tensor([-1, -3, -4, 3], { dtype: 'int32', device: ctx.device })), [0, -1, 1, -8], { dtype: 'int32' });
      expect(() => gf.pow(base, -1)).toThrow(/negative integer powers/);
    });

    it('methods alias the ops', async () => {
      const x = tensor([1, 2, 3], { device: ctx.device });
      await expectTensor(x.add(1).mul(2).sub(x).div(2).pow(2), [2.25, 4, 6.25]);
      await expectTensor(x.maximum(2).minimum(2.5), [2, 2, 2.5]);
      await expectTensor(x.gt(1).logicalAnd(x.lt(3)).logicalOr(x.eq(1)).logicalXor(x.ne(2)), [false, true, true]);
      await expectTensor(x.ge(2), [false, true, true]);
      await expectTensor(x.le(2), [true, true, false]);
    });
  });

  describe('errors', () => {
    it('broadcast mismatch names both shapes', () => {
      const a = gf.zeros([2, 3], { device: ctx.device });
      const b = gf.zeros([4], { device: ctx.device });
      expect(() => gf.add(a, b)).toThrow(/\[2, 3\] and \[4\] cannot be broadcast/);
      expect(() => gf.lt(a, gf.zeros([3, 2], { device: ctx.device }))).toThrow(/cannot be broadcast/);
    });
    it('bool subtraction is rejected like PyTorch', () => {
      const b = tensor([true, false], { device: ctx.device });
      expect(() => gf.sub(b, b)).toThrow(/sub is not supported on two bool operands/);
    });
    it('disposed operands are reported', () => {
      const a = gf.ones([2], { device: ctx.device });
      a.dispose();
      expect(() => gf.add(a, 1)).toThrow(/disposed/);
    });
  });

  describe('gradients', () => {
    it('broadcast gradients are summed back to each input shape', async () => {
      const a = tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { device: ctx.device, requiresGrad: true },
      );
      const b = tensor([10, 20, 30], { device: ctx.device, requiresGrad: true });
      const c = tensor(2, { device: ctx.device, requiresGrad: true });
      const out = gf.mul(gf.add(a, b), c);
      const [ga, gb, gc] = gradients(out, [a, b, c], gf.onesLike(out));
      await expectTensor(ga as Tensor, [
        [2, 2, 2],
        [2, 2, 2],
      ]);
      await expectTensor(gb as Tensor, [4, 4, 4]);
      await expectTensor(gc as Tensor, 1 + 2 + 3 + 4 + 5 + 6 + 2 * (10 + 20 + 30), { shape: [] });
    });

    it('the same tensor on both sides accumulates (x * x, x - x)', async () => {
      const x = tensor([1.5, -2], { device: ctx.device, requiresGrad: true });
      const [g1] = gradients(gf.mul(x, x), [x], gf.onesLike(x));
      await expectTensor(g1 as Tensor, [3, -4]);
      const [g2] = gradients(gf.sub(x, x), [x], gf.onesLike(x));
      await expectTensor(g2 as Tensor, [0, 0]);
    });

    it('gradient flows through a float input mixed with an int32 input', async () => {
      const x = tensor([1.5, -2], { device: ctx.device, requiresGrad: true });
      const n = tensor([3, 4], { dtype: 'int32', device: ctx.device });
      const [g] = gradients(gf.mul(x, n), [x], gf.onesLike(x));
      await expectTensor(g as Tensor, [3, 4]);
    });

    it('comparisons and logical ops are not differentiable', () => {
      const x = tensor([1.5, -2], { device: ctx.device, requiresGrad: true });
      expect(gf.gt(x, 0).requiresGrad).toBe(false);
      expect(gf.logicalAnd(x, x).requiresGrad).toBe(false);
    });
  });

  describe('gradcheck', () => {
    const a = [0.7, 1.3, -0.4, 2.1, 0.45, -1.6];
    const b = [1.2, -0.9, 0.6, 0.35, -1.1, 0.8];
    const pos = [0.7, 1.3, 0.4, 2.1, 0.45, 1.6];
    const ops: [string, (x: gf.TensorLike, y: gf.TensorLike) => Tensor, number[], number[]][] = [
      ['add', gf.add, a, b],
      ['sub', gf.sub, a, b],
      ['mul', gf.mul, a, b],
      ['div', gf.div, a, b],
      ['pow', gf.pow, pos, b],
      ['maximum', gf.maximum, a, b],
      ['minimum', gf.minimum, a, b],
    ];
    for (const [name, op, x, y] of ops) {
      it(`${name} (same shape)`, async () => {
        const r = await gradcheck(op, [tensor(x, { shape: [2, 3], device: ctx.device }), tensor(y, { shape: [2, 3], device: ctx.device })]);
        expect(r.mismatches).toEqual([]);
      });
      it(`${name} (broadcast [2, 3] with [3] and 0-d)`, async () => {
        const r = await gradcheck(
          (p, q, s) => op(op(p, q), s),
          [
            tensor(x, { shape: [2, 3], device: ctx.device }),
            tensor(y.slice(0, 3), { device: ctx.device }),
            tensor(1.15, { device: ctx.device }),
          ],
        );
        expect(r.mismatches).toEqual([]);
      });
      it(`${name} (scalar operand)`, async () => {
        const r = await gradcheck(
          (p) => gf.add(op(p, 1.5), op(2.5, p)),
          [tensor(name === 'pow' ? pos : x, { shape: [2, 3], device: ctx.device })],
        );
        expect(r.mismatches).toEqual([]);
      });
    }
    it('pow at base 0 (PyTorch masks the exponent gradient there)', async () => {
      const base = tensor([0, 0, 2], { device: ctx.device, requiresGrad: true });
      const exponent = tensor([2, 1.5, 3], { device: ctx.device, requiresGrad: true });
      const out = gf.pow(base, exponent);
      const [gb, ge] = gradients(out, [base, exponent], gf.onesLike(out));
      await expectTensor(gb as Tensor, [0, 0, 12]);
      await expectTensor(ge as Tensor, [0, 0, 8 * Math.log(2)]);
    });
  });
}
