/**
 * Creation ops (tensor, scalar, zeros/ones/full, arange, linspace, eye, *Like) and the seeded
 * random ops. Expected ranges come from PyTorch (cases/elementwise.json, `creation`); the
 * random streams are GhostFlow's own, so their pinned values come from GhostFlow's Philox
 * generator and must be identical on every backend.
 */
import * as gf from '@ghostflow/core';
import { type Tensor, tensor } from '@ghostflow/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { caseValues, elementwiseCases } from '../cases.js';
import { type SuiteContext, expectTensor } from '../context.js';

/** Registers the tests of this area. */
export function opsCreationSuite(ctx: SuiteContext): void {
  beforeAll(() => ctx.activate());
  const device = () => ({ device: ctx.device });

  describe('tensor()', () => {
    it('nested arrays: shape, default float32, values', async () => {
      const x = tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        device(),
      );
      expect(x.dtype).toBe('float32');
      expect(x.device).toBe(ctx.device);
      await expectTensor(x, [
        [1, 2, 3],
        [4, 5, 6],
      ]);
      await expectTensor(tensor([[[1.5], [-2]]], device()), [[[1.5], [-2]]]);
    });
    it('numbers and booleans make 0-d tensors', async () => {
      const s = tensor(3.25, device());
      expect(s.shape).toEqual([]);
      await expectTensor(s, 3.25, { shape: [], dtype: 'float32' });
      await expectTensor(tensor(true, device()), true, { shape: [], dtype: 'bool' });
      await expectTensor(gf.scalar(7, { dtype: 'int32', ...device() }), 7, { shape: [], dtype: 'int32' });
      await expectTensor(gf.scalar(false, device()), false, { shape: [], dtype: 'bool' });
    });
    it('booleans default to bool; dtype converts', async () => {
      await expectTensor(tensor([true, false], device()), [true, false], { dtype: 'bool' });
      await expectTensor(tensor([true, false], { dtype: 'float32', ...device() }), [1, 0], { dtype: 'float32' });
      await expectTensor(tensor([0, 2, -0.5, Number.NaN], { dtype: 'bool', ...device() }), [false, true, true, true], { dtype: 'bool' });
      await expectTensor(tensor([1, -2], { dtype: 'int32', ...device() }), [1, -2], { dtype: 'int32' });
    });
    it('typed arrays keep their dtype; shape reshapes flat data', async () => {
      await expectTensor(
        tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2], ...device() }),
        [
          [1, 2],
          [3, 4],
        ],
        { dtype: 'int32' },
      );
      await expectTensor(tensor(new Float32Array([0.5, 1.5]), device()), [0.5, 1.5], { dtype: 'float32' });
      await expectTensor(tensor(new Uint8Array([0, 1, 5]), device()), [false, true, true], { dtype: 'bool' });
      await expectTensor(tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2], ...device() }), [
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
    });
    it('keeps NaN and infinities', async () => {
      await expectTensor(tensor([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0], device()), [
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        0,
      ]);
    });
    it('empty tensors', async () => {
      await expectTensor(tensor([], device()), [], { shape: [0], dtype: 'float32' });
      await expectTensor(tensor([[], []], device()), [], { shape: [2, 0] });
      await expectTensor(gf.zeros([3, 0], device()), [], { shape: [3, 0] });
    });
    it('requiresGrad makes a leaf', () => {
      const x = tensor([1, 2], { requiresGrad: true, ...device() });
      expect(x.requiresGrad).toBe(true);
      expect(x.isLeaf).toBe(true);
      expect(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true, ...device() })).toThrow(
        /only floating-point tensors can require grad/,
      );
    });
    it('errors: ragged arrays, fractional int32, shape mismatch, bad values', () => {
      expect(() => tensor([[1, 2], [3]], device())).toThrow(/ragged nested array: expected length 2 at dim 1/);
      expect(() => tensor([[1, 2], 3] as gf.NestedArray<number>, device())).toThrow(/ragged/);
      expect(() => tensor([[1], [[2]]] as gf.NestedArray<number>, device())).toThrow(/ragged/);
      expect(() => tensor([1.5, 2], { dtype: 'int32', ...device() })).toThrow(/dtype int32 needs integer values.*got 1.5 at flat index 0/);
      expect(() => tensor([Number.NaN], { dtype: 'int32', ...device() })).toThrow(/int32/);
      expect(() => tensor([1, 2, 3], { shape: [2, 2], ...device() })).toThrow(/shape \[2, 2\] needs 4 values, got 3/);
      expect(() => tensor(['a'] as unknown as number[], device())).toThrow(/expected numbers or booleans/);
      expect(() => tensor([1], { device: 'no-such-backend' })).toThrow(/no backend named 'no-such-backend'/);
    });
  });

  describe('constant tensors', () => {
    it('zeros, ones, full (dtype defaults and overrides)', async () => {
      await expectTensor(
        gf.zeros([2, 2], device()),
        [
          [0, 0],
          [0, 0],
        ],
        { dtype: 'float32' },
      );
      await expectTensor(gf.ones([3], { dtype: 'int32', ...device() }), [1, 1, 1], { dtype: 'int32' });
      await expectTensor(gf.full([2], 2.5, device()), [2.5, 2.5], { dtype: 'float32' });
      await expectTensor(gf.full([2], true, device()), [true, true], { dtype: 'bool' });
      await expectTensor(gf.full([1, 2], Number.NEGATIVE_INFINITY, device()), [[Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]]);
      await expectTensor(gf.full([], 4, { dtype: 'int32', ...device() }), 4, { shape: [], dtype: 'int32' });
      expect(() => gf.full([2], 1.5, { dtype: 'int32', ...device() })).toThrow(/int32 needs an integer value in the int32 range, got 1.5/);
      expect(() => gf.zeros([2, -1], device())).toThrow(/invalid size -1/);
      expect(gf.ones([2], { requiresGrad: true, ...device() }).requiresGrad).toBe(true);
    });
    it('zerosLike / onesLike / fullLike copy shape, dtype and device', async () => {
      const x = tensor([[1, 2, 3]], { dtype: 'int32', ...device() });
      await expectTensor(gf.zerosLike(x), [[0, 0, 0]], { dtype: 'int32' });
      await expectTensor(gf.onesLike(x, { dtype: 'float32' }), [[1, 1, 1]], { dtype: 'float32' });
      await expectTensor(gf.fullLike(x, 7), [[7, 7, 7]], { dtype: 'int32' });
      expect(gf.zerosLike(x).device).toBe(ctx.device);
    });
  });

  describe('ranges vs PyTorch', () => {
    const want = (name: string) => {
      const c = elementwiseCases().creation[name];
      return [caseValues(c), { shape: c.shape, dtype: c.dtype }] as const;
    };
    const check = async (name: string, t: Tensor) => {
      const [values, opts] = want(name);
      await expectTensor(t, values, { ...opts, atol: 1e-6, rtol: 1e-6 });
    };
    it('arange', async () => {
      await check('arange_5', gf.arange(5, undefined, undefined, device()));
      await check('arange_5', gf.arange(5, device()));
      const ints = gf.arange(4, { dtype: 'int32', ...device() });
      expect(ints.dtype).toBe('int32');
      await expectTensor(ints, [0, 1, 2, 3]);
      await check('arange_frac', gf.arange(0, 1, 0.3, device()));
      await check('arange_neg_step', gf.arange(5, -3, -2.5, device()));
      await check('arange_int', gf.arange(-3, 10, 4, { dtype: 'int32', ...device() }));
      await check('arange_empty', gf.arange(3, 3, 1, device()));
      expect(() => gf.arange(0, 5, 0, device())).toThrow(/step must be nonzero/);
      expect(() => gf.arange(0, 5, -1, device())).toThrow(/sign of step/);
      expect(() => gf.arange(0, 1, 0.5, { dtype: 'int32', ...device() })).toThrow(/int32 needs integer/);
    });
    it('linspace', async () => {
      await check('linspace_7', gf.linspace(0, 1, 7, device()));
      await check('linspace_neg', gf.linspace(5, -5, 6, device()));
      await check('linspace_1', gf.linspace(2, 9, 1, device()));
      await check('linspace_0', gf.linspace(2, 9, 0, device()));
      await check('linspace_third', gf.linspace(-1, 1, 10, device()));
      expect(() => gf.linspace(0, 1, -1, device())).toThrow(/non-negative integer/);
    });
    it('eye', async () => {
      await check('eye_3', gf.eye(3, undefined, device()));
      await check('eye_2_4', gf.eye(2, 4, device()));
      await check('eye_4_2_int', gf.eye(4, 2, { dtype: 'int32', ...device() }));
    });
  });

  describe('random', () => {
    it('the same seed gives the same values; a new draw differs', async () => {
      gf.manualSeed(123);
      const a = Array.from(await gf.rand([64], device()).data());
      const b = Array.from(await gf.randn([3, 5], device()).data());
      gf.manualSeed(123);
      expect(Array.from(await gf.rand([64], device()).data())).toEqual(a);
      expect(Array.from(await gf.randn([3, 5], device()).data())).toEqual(b);
      expect(Array.from(await gf.rand([64], device()).data())).not.toEqual(a);
    });
    it('pinned values: every backend draws the same GhostFlow stream', async () => {
      // GhostFlow's Philox4x32-10 stream (not PyTorch's): exact float32 values for seed 42.
      gf.manualSeed(42);
      expect(Array.from(await gf.rand([4], device()).data())).toEqual([
        0.6129598617553711, 0.4685865044593811, 0.07323169708251953, 0.3408614993095398,
      ]);
      await expectTensor(gf.randn([3], device()), [-0.07318150997161865, 0.13913749158382416, -1.106665015220642], {
        atol: 1e-6,
        rtol: 1e-6,
      });
      const g = new gf.Generator(42);
      expect(Array.from(await gf.rand([4], { generator: g, ...device() }).data())).toEqual([
        0.6129598617553711, 0.4685865044593811, 0.07323169708251953, 0.3408614993095398,
      ]);
      g.manualSeed(42);
      g.nextUint32(4);
      g.nextUint32(4);
      await expectTensor(gf.randint(0, 100, [4], { generator: g, ...device() }), [82, 60, 72, 58], { dtype: 'int32' });
    });
    it('rand is in [0, 1) with mean ~0.5', async () => {
      gf.manualSeed(1);
      const v = Array.from(await gf.rand([10000], device()).data());
      expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...v)).toBeLessThan(1);
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    });
    it('randn has mean ~0 and std ~1 over 10k samples', async () => {
      gf.manualSeed(2);
      const v = Array.from(await gf.randn([100, 100], device()).data());
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
      expect(Math.abs(mean)).toBeLessThan(0.05);
      expect(Math.abs(std - 1)).toBeLessThan(0.05);
      expect(v.every(Number.isFinite)).toBe(true);
    });
    it('randint covers [low, high) and is int32 by default', async () => {
      gf.manualSeed(3);
      const t = gf.randint(-2, 3, [2000], device());
      expect(t.dtype).toBe('int32');
      const v = Array.from(await t.data());
      expect(new Set(v)).toEqual(new Set([-2, -1, 0, 1, 2]));
      expect(gf.randint(0, 5, [2], { dtype: 'float32', ...device() }).dtype).toBe('float32');
      expect(() => gf.randint(3, 3, [2], device())).toThrow(/low < high/);
    });
    it('bernoulli with a number and with a probability tensor', async () => {
      gf.manualSeed(4);
      await expectTensor(gf.bernoulli(0, [3], device()), [0, 0, 0], { dtype: 'float32' });
      await expectTensor(gf.bernoulli(1, [3], device()), [1, 1, 1], { dtype: 'float32' });
      const p = tensor([0, 1, 0, 1], device());
      await expectTensor(gf.bernoulli(p), [0, 1, 0, 1]);
      const half = Array.from(await gf.bernoulli(0.3, [10000], device()).data());
      expect(half.every((x) => x === 0 || x === 1)).toBe(true);
      expect(Math.abs(half.reduce((s, x) => s + x, 0) / half.length - 0.3)).toBeLessThan(0.02);
      expect(gf.bernoulli(tensor([[0.5], [0.5]], device()), [2, 3]).shape).toEqual([2, 3]);
      expect(() => gf.bernoulli(1.5, [2], device())).toThrow(/p must be in \[0, 1\]/);
    });
    it('randLike / randnLike follow the model tensor; requiresGrad works', () => {
      const x = gf.zeros([2, 3], device());
      expect(gf.randLike(x).shape).toEqual([2, 3]);
      expect(gf.randnLike(x).device).toBe(ctx.device);
      expect(gf.randn([2], { requiresGrad: true, ...device() }).requiresGrad).toBe(true);
      expect(() => gf.rand([2], { dtype: 'int32', ...device() })).toThrow(/supports dtype float32/);
    });
  });
}
