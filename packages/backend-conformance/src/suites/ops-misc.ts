/**
 * Padding, cumulative sums, triangles and one-hot encoding: values and gradients against
 * PyTorch (cases/join_index.json), gradchecks, and the validation errors.
 */
import { type Tensor, cumsum, getBackend, oneHot, pad, tensor, tril, triu, zeros } from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import { joinIndexCases as cases } from '../cases.js';
import { expectGradcheck } from '../checks.js';
import { type SuiteContext, expectTensor } from '../context.js';

function dispose(...ts: Tensor[]): void {
  for (const t of ts) t.dispose();
}

/** Registers the tests of this area. */
export function opsMiscSuite(_ctx: SuiteContext): void {
  describe('pad', () => {
    it('constant on the last dim with a value', () => cases.check('pad_const', ({ x }) => pad(x, [1, 2], 'constant', 5)));
    it('constant on the last two dims', () => cases.check('pad_const_2d', ({ x }) => pad(x, [1, 0, 0, 2])));
    it('constant with negative amounts crops', () => cases.check('pad_const_neg', ({ x }) => pad(x, [-1, 2, 1, -1], 'constant', -1)));
    it('reflect on the last dim', () => cases.check('pad_reflect', ({ x }) => pad(x, [2, 1], 'reflect')));
    it('reflect on the last two dims', () => cases.check('pad_reflect_2d', ({ x }) => pad(x, [1, 2, 2, 1], 'reflect')));
    it('replicate on the last dim', () => cases.check('pad_replicate', ({ x }) => pad(x, [3, 1], 'replicate')));
    it('replicate on the last two dims', () => cases.check('pad_replicate_2d', ({ x }) => pad(x, [1, 1, 2, 0], 'replicate')));
    it('keeps int32 and returns a new tensor for zero padding', async () => {
      const x = tensor([1, 2], { dtype: 'int32' });
      const y = pad(x, [1, 1], 'constant', 9);
      const z = pad(x, [0, 0]);
      await expectTensor(y, [9, 1, 2, 9], { dtype: 'int32' });
      expect(z).not.toBe(x);
      await expectTensor(z, [1, 2], { dtype: 'int32' });
      dispose(x, y, z);
    });
    it('constant passes gradcheck (with cropping)', () =>
      expectGradcheck((x) => pad(x, [-1, 2, 1, -1], 'constant', -1), cases.inputs('pad_const_neg', 'x')));
    it('reflect passes gradcheck', () => expectGradcheck((x) => pad(x, [1, 2, 2, 1], 'reflect'), cases.inputs('pad_reflect_2d', 'x')));
    it('replicate passes gradcheck', () =>
      expectGradcheck((x) => pad(x, [1, 1, 2, 0], 'replicate'), cases.inputs('pad_replicate_2d', 'x')));
    it('rejects odd or too long padding, too large reflect padding, negative sizes', () => {
      const x = zeros([2, 3]);
      expect(() => pad(x, [1])).toThrow(/divisible by 2/);
      expect(() => pad(x, [1, 1, 1, 1, 1, 1])).toThrow(/too large/);
      expect(() => pad(x, [3, 0], 'reflect')).toThrow(/reflect padding \(3, 0\) must be less than the size 3/);
      expect(() => pad(x, [-2, -2])).toThrow(/negative output size/);
      expect(() => pad(x, [1, 1], 'circular' as 'constant')).toThrow(/unknown mode/);
      x.dispose();
    });
  });

  describe('cumsum', () => {
    it('along dim 1', () => cases.check('cumsum_dim1', ({ x }) => cumsum(x, 1)));
    it('along dim 0', () => cases.check('cumsum_dim0', ({ x }) => cumsum(x, 0)));
    it('of a non-contiguous input along a negative dim', () => cases.check('cumsum_neg_noncontig', ({ x }) => cumsum(x.t(), -1)));
    it('of int32 stays int32', () => cases.check('cumsum_int', ({ x }) => cumsum(x, 0)));
    it('of bool gives int32', () => cases.check('cumsum_bool', ({ x }) => cumsum(x, -1)));
    it('of a 0-d tensor', () => cases.check('cumsum_0d', ({ x }) => cumsum(x, 0)));
    it('of an empty tensor', async () => {
      const x = zeros([2, 0]);
      const y = cumsum(x, 1);
      await expectTensor(y, [], { shape: [2, 0] });
      dispose(x, y);
    });
    it('passes gradcheck', () => expectGradcheck((x) => cumsum(x.t(), -1), cases.inputs('cumsum_neg_noncontig', 'x')));
    it('rejects a bad dim', () => {
      const x = zeros([2]);
      expect(() => cumsum(x, 1)).toThrow(/out of range/);
      x.dispose();
    });
  });

  describe('tril / triu', () => {
    it('tril', () => cases.check('tril', ({ x }) => tril(x)));
    it('tril with a positive diagonal', () => cases.check('tril_pos', ({ x }) => tril(x, 1)));
    it('tril with a negative diagonal, batched', () => cases.check('tril_neg_batched', ({ x }) => tril(x, -1)));
    it('triu', () => cases.check('triu', ({ x }) => triu(x)));
    it('triu with a positive diagonal, batched', () => cases.check('triu_pos_batched', ({ x }) => triu(x, 1)));
    it('triu with a negative diagonal', () => cases.check('triu_neg', ({ x }) => triu(x, -1)));
    it('tril of int32 stays int32', () => cases.check('tril_int', ({ x }) => tril(x)));
    it('triu of a non-contiguous input', () => cases.check('triu_noncontig', ({ x }) => triu(x.t())));
    it('of bool stays bool', async () => {
      const x = tensor([
        [true, true],
        [true, true],
      ]);
      const y = triu(x);
      await expectTensor(
        y,
        [
          [true, true],
          [false, true],
        ],
        { dtype: 'bool' },
      );
      dispose(x, y);
    });
    it('tril passes gradcheck', () => expectGradcheck((x) => tril(x, -1), cases.inputs('tril_neg_batched', 'x')));
    it('triu passes gradcheck', () => expectGradcheck((x) => triu(x.t()), cases.inputs('triu_noncontig', 'x')));
    it('rejects inputs of rank < 2', () => {
      const x = zeros([3]);
      expect(() => tril(x)).toThrow(/at least 2 dimensions.*\[3\]/);
      expect(() => triu(x)).toThrow(/at least 2 dimensions/);
      x.dispose();
    });
  });

  describe('oneHot', () => {
    it('infers the number of classes (skipped on backends without readSync: inferring needs the values)', async (test) => {
      if (!getBackend().readSync) {
        test.skip();
        return;
      }
      await cases.check('one_hot', ({ i }) => oneHot(i));
    });
    it('with an explicit number of classes', () => cases.check('one_hot_classes', ({ i }) => oneHot(i, 5)));
    it('of an empty tensor with numClasses', async () => {
      const i = zeros([0], { dtype: 'int32' });
      const y = oneHot(i, 3);
      await expectTensor(y, [], { shape: [0, 3], dtype: 'int32' });
      dispose(i, y);
    });
    it('rejects non-int32 indices and a bad numClasses', () => {
      const f = zeros([2]);
      const i = zeros([2], { dtype: 'int32' });
      expect(() => oneHot(f, 2)).toThrow(/int32/);
      expect(() => oneHot(i, -3)).toThrow(/numClasses/);
      dispose(f, i);
    });
    it('rejects negative and out-of-range indices (skipped on backends without readSync: oneHot does not check there)', (test) => {
      if (!getBackend().readSync) {
        test.skip();
        return;
      }
      const neg = tensor([0, -1], { dtype: 'int32' });
      const big = tensor([0, 3], { dtype: 'int32' });
      const empty = zeros([0], { dtype: 'int32' });
      expect(() => oneHot(neg, 3)).toThrow(/non-negative/);
      expect(() => oneHot(big, 3)).toThrow(/class value 3 is out of range for numClasses 3/);
      expect(() => oneHot(empty)).toThrow(/empty tensor/);
      dispose(neg, big, empty);
    });
    it('asks for numClasses on backends that cannot read synchronously (skipped on backends with readSync)', (test) => {
      if (getBackend().readSync) {
        test.skip();
        return;
      }
      const i = tensor([0, 1], { dtype: 'int32' });
      expect(() => oneHot(i)).toThrow(/pass numClasses/);
      i.dispose();
    });
  });
}
