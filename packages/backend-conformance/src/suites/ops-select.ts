/**
 * where, clamp and maskedFill: values and gradients against PyTorch (cases/elementwise.json),
 * broadcasting of every operand, scalar and tensor bounds/values, int32/bool paths, NaN/inf,
 * non-contiguous inputs, errors, and gradchecks.
 */
import * as gf from '@ghostflow/core';
import { type Tensor, gradcheck, gradients, tensor } from '@ghostflow/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { casesFor, runCase } from '../cases.js';
import { type SuiteContext, expectTensor } from '../context.js';

/** Registers the tests of this area. */
export function opsSelectSuite(ctx: SuiteContext): void {
  beforeAll(() => ctx.activate());
  const t = (v: gf.NestedArray<number | boolean>, dtype?: gf.DType) => tensor(v, { device: ctx.device, dtype });

  describe('values and gradients vs PyTorch', () => {
    for (const name of casesFor(['where', 'clamp', 'maskedFill'])) {
      it(name, () => runCase(name, ctx.device));
    }
  });

  describe('where', () => {
    it('promotes a and b, and accepts scalars on both sides', async () => {
      const c = t([true, false, true]);
      await expectTensor(gf.where(c, 1, 0), [1, 0, 1], { dtype: 'int32' });
      await expectTensor(gf.where(c, 1.5, t([1, 2, 3], 'int32')), [1.5, 2, 1.5], { dtype: 'float32' });
      await expectTensor(gf.where(c, true, false), [true, false, true], { dtype: 'bool' });
      await expectTensor(gf.where(t([], 'bool'), t([]), 0), [], { shape: [0] });
    });
    it('rejects a non-bool condition and mismatched shapes', () => {
      expect(() => gf.where(t([1, 0]), 1, 0)).toThrow(/where expects the condition of dtype bool, got float32/);
      expect(() => gf.where(t([true, false]), t([1, 2, 3]), 0)).toThrow(/cannot be broadcast/);
    });
    it('gradcheck (broadcast a, 0-d b)', async () => {
      const cond = t([
        [true, false, true],
        [false, true, false],
      ]);
      const r = await gradcheck(
        (a, b) => gf.where(cond, a, b),
        [tensor([0.5, -1, 2], { device: ctx.device }), tensor(0.25, { device: ctx.device })],
      );
      expect(r.mismatches).toEqual([]);
    });
  });

  describe('clamp', () => {
    it('needs a bound', () => {
      expect(() => gf.clamp(t([1]))).toThrow(/at least one of 'min' or 'max'/);
    });
    it('int32 stays int32 with integer bounds and promotes with fractional ones', async () => {
      await expectTensor(gf.clamp(t([-5, 0, 9], 'int32'), -1, 4), [-1, 0, 4], { dtype: 'int32' });
      await expectTensor(gf.clamp(t([-5, 0, 9], 'int32'), null, 2.5), [-5, 0, 2.5], { dtype: 'float32' });
      await expectTensor(t([-2, 0.5, 3]).clamp(0, 1), [0, 0.5, 1]);
    });
    it('gradient is 1 inside [min, max] and 0 outside (scalar bounds)', async () => {
      const x = tensor([-2, -0.5, 0.5, 2], { device: ctx.device, requiresGrad: true });
      const [g] = gradients(gf.clamp(x, -1, 1), [x], gf.onesLike(x));
      await expectTensor(g as Tensor, [0, 1, 1, 0]);
    });
    it('gradcheck with scalar bounds', async () => {
      const r = await gradcheck((x) => gf.clamp(x, -0.6, 0.9), [tensor([-1.3, -0.4, 0.35, 0.8, 1.7, 2.2], { device: ctx.device })]);
      expect(r.mismatches).toEqual([]);
    });
    it('gradcheck with broadcast tensor bounds', async () => {
      const r = await gradcheck(
        (x, lo, hi) => gf.clamp(x, lo, hi),
        [
          tensor(
            [
              [-1.3, -0.4, 0.35],
              [0.8, 1.7, 2.2],
            ],
            { device: ctx.device },
          ),
          tensor([-0.6, 0.1, 0.2], { device: ctx.device }),
          tensor([[1.1], [1.5]], { device: ctx.device }),
        ],
      );
      expect(r.mismatches).toEqual([]);
    });
  });

  describe('maskedFill', () => {
    it('fills with a number, keeps the dtype, and broadcasts the mask', async () => {
      const x = t([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      await expectTensor(x.maskedFill(t([true, false, true]), -1), [
        [-1, 2, -1],
        [-1, 5, -1],
      ]);
      await expectTensor(gf.maskedFill(t([1, 2], 'int32'), t([false, true]), 7), [1, 7], { dtype: 'int32' });
      await expectTensor(gf.maskedFill(x, t([[false], [true]]), tensor(0.5, { device: ctx.device })), [
        [1, 2, 3],
        [0.5, 0.5, 0.5],
      ]);
      await expectTensor(gf.maskedFill(x, t([true, false, false]), Number.NEGATIVE_INFINITY), [
        [Number.NEGATIVE_INFINITY, 2, 3],
        [Number.NEGATIVE_INFINITY, 5, 6],
      ]);
    });
    it('rejects a non-bool mask and a value tensor with dims', () => {
      const x = t([1, 2]);
      expect(() => gf.maskedFill(x, t([1, 0]), 0)).toThrow(/maskedFill expects the mask of dtype bool, got float32/);
      expect(() => gf.maskedFill(x, t([true, false]), t([1, 2]))).toThrow(/0-d value tensor/);
      expect(() => gf.maskedFill(x, t([true, false, true]), 0)).toThrow(/cannot be broadcast/);
    });
    it('gradcheck for x and a 0-d value tensor', async () => {
      const mask = t([
        [true, false, false],
        [false, true, true],
      ]);
      const r = await gradcheck(
        (x, v) => gf.maskedFill(x, mask, v),
        [
          tensor(
            [
              [0.5, -1, 2],
              [1.5, 0.3, -0.7],
            ],
            { device: ctx.device },
          ),
          tensor(0.25, { device: ctx.device }),
        ],
      );
      expect(r.mismatches).toEqual([]);
    });
  });
}
