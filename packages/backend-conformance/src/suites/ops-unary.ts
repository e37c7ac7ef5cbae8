/**
 * Unary elementwise ops: values and gradients against PyTorch (cases/elementwise.json, made by
 * tools/torch-cases/elementwise.py), integer/bool paths, NaN/inf, non-contiguous and empty
 * inputs, and a gradcheck of every differentiable op.
 */
import * as gf from '@ghostflow/core';
import { type Tensor, UNARY_OPS, gradcheck, gradients, tensor } from '@ghostflow/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { casesFor, runCase } from '../cases.js';
import { type SuiteContext, expectTensor } from '../context.js';

/**
 * Op keys of the unary cases: the unary kernel ops (those without cases, `identity` and
 * `geluTanh`, select nothing; gelu's tanh form is a kwarg of the `gelu` cases) plus `square`,
 * which core composes.
 */
const UNARY_CASE_OPS: readonly string[] = [...UNARY_OPS, 'square'];

/** Registers the tests of this area. */
export function opsUnarySuite(ctx: SuiteContext): void {
  beforeAll(() => ctx.activate());

  describe('values and gradients vs PyTorch', () => {
    for (const name of casesFor(UNARY_CASE_OPS)) {
      it(name, () => runCase(name, ctx.device));
    }
  });

  describe('dtypes', () => {
    it('float-only ops promote int32 and bool to float32', async () => {
      const i = tensor([1, 4], { dtype: 'int32', device: ctx.device });
      const b = tensor([true, false], { device: ctx.device });
      for (const op of [
        gf.exp,
        gf.log,
        gf.sqrt,
        gf.rsqrt,
        gf.sin,
        gf.cos,
        gf.tanh,
        gf.sigmoid,
        gf.erf,
        gf.silu,
        gf.expm1,
        gf.log1p,
        gf.reciprocal,
        (x: Tensor) => gf.gelu(x),
      ]) {
        expect(op(i).dtype).toBe('float32');
        expect(op(b).dtype).toBe('float32');
      }
      await expectTensor(gf.sqrt(i), [1, 2], { dtype: 'float32' });
      await expectTensor(gf.exp(b), [Math.E, 1], { dtype: 'float32' });
      await expectTensor(gf.softplus(i), [1.3132616, 4.0181499], { dtype: 'float32' });
    });

    it('integer ops keep int32; bool arithmetic throws like PyTorch', async () => {
      const i = tensor([-3, 0, 2], { dtype: 'int32', device: ctx.device });
      await expectTensor(gf.abs(i), [3, 0, 2], { dtype: 'int32' });
      await expectTensor(gf.neg(i), [3, 0, -2], { dtype: 'int32' });
      await expectTensor(gf.square(i), [9, 0, 4], { dtype: 'int32' });
      const b = tensor([true, false], { device: ctx.device });
      expect(() => gf.neg(b)).toThrow(/neg is not supported on bool/);
      expect(() => gf.abs(b)).toThrow(/bool/);
      expect(() => gf.relu(b)).toThrow(/bool/);
      expect(() => gf.floor(b)).toThrow(/bool/);
    });

    it('cast converts, truncates toward zero, and keeps the gradient only float to float', async () => {
      const x = tensor([-1.7, -0.2, 0, 0.5, 2.9], { device: ctx.device, requiresGrad: true });
      await expectTensor(gf.cast(x, 'int32'), [-1, 0, 0, 0, 2], { dtype: 'int32' });
      await expectTensor(gf.cast(x, 'bool'), [true, true, false, true, true], { dtype: 'bool' });
      expect(gf.cast(x, 'int32').requiresGrad).toBe(false);
      const same = gf.cast(x, 'float32');
      expect(same).not.toBe(x);
      expect(same.requiresGrad).toBe(true);
      const [g] = gradients(gf.mul(same, 3), [x], gf.onesLike(x));
      await expectTensor(g as Tensor, [3, 3, 3, 3, 3]);
      await expectTensor(x.int().float(), [-1, 0, 0, 0, 2], { dtype: 'float32' });
      await expectTensor(tensor([0, 3, -2], { dtype: 'int32', device: ctx.device }).bool(), [false, true, true], { dtype: 'bool' });
      await expectTensor(tensor([true, false], { device: ctx.device }).float(), [1, 0], { dtype: 'float32' });
    });

    it('non-differentiable ops give zero gradients (floor, ceil, round, sign)', async () => {
      const x = tensor([0.3, -1.6, 2.5], { device: ctx.device, requiresGrad: true });
      for (const op of [gf.floor, gf.ceil, gf.round, gf.sign]) {
        const [g] = gradients(op(x), [x], gf.onesLike(x));
        await expectTensor(g as Tensor, [0, 0, 0]);
      }
    });

    it('methods alias the ops', async () => {
      const x = tensor(
        [
          [0.5, -1],
          [2, 0.25],
        ],
        { device: ctx.device },
      );
      await expectTensor(x.relu().square().neg(), [
        [-0.25, 0],
        [-4, -0.0625],
      ]);
      await expectTensor(x.abs().sqrt().log(), [
        [Math.log(Math.sqrt(0.5)), 0],
        [Math.log(Math.SQRT2), Math.log(0.5)],
      ]);
    });
  });

  describe('gradcheck', () => {
    // Inputs stay away from kinks (0 for abs/relu, integers for floor/ceil/round) by more than eps.
    const general = [-1.3, -0.4, 0.35, 0.8, 1.7, 2.2];
    const positive = [0.3, 0.55, 0.9, 1.4, 2.1, 3.3];
    const ops: [string, (x: Tensor) => Tensor, number[]][] = [
      ['neg', gf.neg, general],
      ['abs', gf.abs, general],
      ['sign', gf.sign, general],
      ['exp', gf.exp, general],
      ['expm1', gf.expm1, general],
      ['log', gf.log, positive],
      ['log1p', gf.log1p, positive],
      ['sqrt', gf.sqrt, positive],
      ['rsqrt', gf.rsqrt, positive],
      ['reciprocal', gf.reciprocal, positive],
      ['sin', gf.sin, general],
      ['cos', gf.cos, general],
      ['tanh', gf.tanh, general],
      ['sigmoid', gf.sigmoid, general],
      ['relu', gf.relu, general],
      ['silu', gf.silu, general],
      ['erf', gf.erf, general],
      ['floor', gf.floor, general],
      ['ceil', gf.ceil, general],
      ['round', gf.round, general],
      ['square', gf.square, general],
      ['gelu', (x) => gf.gelu(x), general],
      ['gelu tanh', (x) => gf.gelu(x, { approximate: 'tanh' }), general],
      ['softplus', (x) => gf.softplus(x), general],
      ['softplus beta/threshold', (x) => gf.softplus(x, { beta: 2, threshold: 1.5 }), general],
      ['cast float32', (x) => gf.cast(x, 'float32'), general],
    ];
    for (const [name, op, values] of ops) {
      it(name, async () => {
        const x = tensor(values, { shape: [2, 3], device: ctx.device });
        const result = await gradcheck(op, [x]);
        expect(result.mismatches).toEqual([]);
        expect(result.ok).toBe(true);
      });
    }

    it('gradcheck reports a wrong rule', async () => {
      // A deliberately wrong "op": forward exp, gradient of identity (via a detached path).
      const wrong = (x: Tensor) => gf.add(gf.sub(gf.exp(x.detach()), x.detach()), x);
      const result = await gradcheck(wrong, [tensor([0.5, 1], { device: ctx.device })]);
      expect(result.ok).toBe(false);
      expect(result.mismatches.length).toBe(2);
      expect(result.mismatches[0].input).toBe(0);
    });
  });
}
