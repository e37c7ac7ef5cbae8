/**
 * Joining and splitting: cat, stack, split, chunk, unbind. Values and gradients against
 * PyTorch (cases/join_index.json, made by tools/torch-cases/join_index.py), plus
 * gradchecks, view semantics and errors.
 */
import { type Tensor, cat, chunk, gradients, memory, mul, split, stack, sum, tensor, unbind, zeros } from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import { joinIndexCases as cases } from '../cases.js';
import { expectGradcheck } from '../checks.js';
import { type SuiteContext, expectTensor } from '../context.js';

/** Registers the tests of this area. */
export function opsJoinSuite(_ctx: SuiteContext): void {
  describe('cat', () => {
    it('joins along dim 0', () => cases.check('cat_dim0', ({ a, b }) => cat([a, b], 0)));
    it('joins along a negative dim, three inputs', () => cases.check('cat_neg_dim', ({ a, b, c }) => cat([a, b, c], -1)));
    it('reads non-contiguous inputs', () => cases.check('cat_noncontig', ({ a, b }) => cat([a.t(), b], 1)));
    it('joins a middle dim of 3-d tensors', () => cases.check('cat_3d_dim1', ({ a, b }) => cat([a, b], 1)));
    it('skips legacy 1-D empty tensors', () => cases.check('cat_skip_empty', ({ e, a }) => cat([e, a], 1)));
    it('accepts inputs empty along the joined dim', () => cases.check('cat_zero_size', ({ a, b }) => cat([a, b], 1)));
    it('promotes int32 with float32 to float32', () => cases.check('cat_promote', ({ a, b }) => cat([a, b])));
    it('promotes bool with int32 to int32', () => cases.check('cat_int_bool', ({ a, b }) => cat([a, b])));
    it('of one tensor is a copy', async () => {
      const x = tensor([1, 2, 3]);
      const y = cat([x]);
      expect(y).not.toBe(x);
      await expectTensor(y, [1, 2, 3]);
      x.dispose();
      y.dispose();
    });
    it('of only empty tensors is empty', async () => {
      const a = zeros([0]);
      const b = zeros([2, 0]);
      const y = cat([a, b, a], 0);
      await expectTensor(y, [], { shape: [2, 0] });
      for (const t of [a, b, y]) t.dispose();
    });
    it('of the same tensor twice sums both gradients', async () => {
      const x = tensor([1, 2]).requiresGrad_(true);
      const y = cat([x, x]);
      const w = tensor([1, 2, 3, 4]);
      const loss = sum(mul(y, w));
      const [g] = gradients(loss, [x]);
      await expectTensor(g as Tensor, [4, 6]);
      for (const t of [x, y, w, loss, g as Tensor]) t.dispose();
    });
    it('passes gradcheck', () => expectGradcheck((a, b, c) => cat([a, b, c], -1), cases.inputs('cat_neg_dim', 'a', 'b', 'c')));
    it('passes gradcheck with a non-contiguous input', () =>
      expectGradcheck((a, b) => cat([a.t(), b], 1), cases.inputs('cat_noncontig', 'a', 'b')));
    it('rejects mismatched sizes, naming the shapes', () => {
      const a = zeros([2, 3]);
      const b = zeros([3, 3]);
      expect(() => cat([a, b], 1)).toThrow(/\[2, 3\].*\[3, 3\]/);
      for (const t of [a, b]) t.dispose();
    });
    it('rejects mismatched ranks, naming the shapes', () => {
      const a = zeros([2, 3]);
      const b = zeros([2, 3, 1]);
      expect(() => cat([a, b])).toThrow(/same number of dimensions.*\[2, 3\].*\[2, 3, 1\]/);
      for (const t of [a, b]) t.dispose();
    });
    it('rejects an empty list, 0-d tensors and a bad dim', () => {
      const s = zeros([]);
      const a = zeros([2]);
      expect(() => cat([])).toThrow(/non-empty/);
      expect(() => cat([s, s])).toThrow(/zero-dimensional/);
      expect(() => cat([a, a], 1)).toThrow(/out of range/);
      for (const t of [s, a]) t.dispose();
    });
  });

  describe('stack', () => {
    it('stacks along dim 0', () => cases.check('stack_dim0', ({ a, b }) => stack([a, b])));
    it('stacks along dim 1', () => cases.check('stack_dim1', ({ a, b }) => stack([a, b], 1)));
    it('stacks along a negative dim', () => cases.check('stack_neg', ({ a, b, c }) => stack([a, b, c], -1)));
    it('stacks 0-d tensors into a vector', () => cases.check('stack_0d', ({ a, b }) => stack([a, b])));
    it('passes gradcheck', () => expectGradcheck((a, b) => stack([a, b], 1), cases.inputs('stack_dim1', 'a', 'b')));
    it('rejects tensors of different shapes, naming them', () => {
      const a = zeros([2, 3]);
      const b = zeros([2, 2]);
      expect(() => stack([a, b])).toThrow(/equal size.*\[2, 3\].*\[2, 2\]/);
      expect(() => stack([])).toThrow(/non-empty/);
      expect(() => stack([a, a], 3)).toThrow(/out of range/);
      for (const t of [a, b]) t.dispose();
    });
  });

  describe('split / chunk / unbind', () => {
    it('split by size (last piece smaller)', () => cases.check('split_size', ({ x }) => split(x, 2, 0)));
    it('split by sizes along a negative dim (a zero size allowed)', () =>
      cases.check('split_sizes_neg', ({ x }) => split(x, [1, 0, 4], -1)));
    it('chunk gives ceil-sized pieces, maybe fewer than asked', () => cases.check('chunk_5_4', ({ x }) => chunk(x, 4)));
    it('chunk along dim 1', () => cases.check('chunk_dim1', ({ x }) => chunk(x, 2, 1)));
    it('unbind along dim 1', () => cases.check('unbind_dim1', ({ x }) => unbind(x, 1)));
    it('unbind along a negative dim', () => cases.check('unbind_neg', ({ x }) => unbind(x, -1)));
    it('pieces are views: no new buffers', () => {
      const x = zeros([6, 4]);
      const before = memory().buffers;
      const pieces = [...split(x, 2), ...chunk(x, 3, 1), ...unbind(x, 1)];
      expect(memory().buffers).toBe(before);
      expect(pieces.length).toBe(3 + 2 + 4);
      for (const p of pieces) p.dispose();
      x.dispose();
    });
    it('empty dims: split gives one piece, chunk gives `chunks` pieces', () => {
      const x = zeros([0, 2]);
      const s = split(x, 2);
      const c = chunk(x, 3);
      expect(s.map((t) => [...t.shape])).toEqual([[0, 2]]);
      expect(c.map((t) => [...t.shape])).toEqual([
        [0, 2],
        [0, 2],
        [0, 2],
      ]);
      for (const t of [x, ...s, ...c]) t.dispose();
    });
    it('split passes gradcheck', () => expectGradcheck((x) => split(x, [1, 0, 4], -1), cases.inputs('split_sizes_neg', 'x')));
    it('chunk passes gradcheck', () => expectGradcheck((x) => chunk(x, 2, 1), cases.inputs('chunk_dim1', 'x')));
    it('unbind passes gradcheck', () => expectGradcheck((x) => unbind(x, -1), cases.inputs('unbind_neg', 'x')));
    it('rejects bad sizes, chunk counts and 0-d input', () => {
      const x = zeros([5, 2]);
      const s = zeros([]);
      expect(() => split(x, [2, 2])).toThrow(/summing exactly to 5.*\[2, 2\]/);
      expect(() => split(x, 0)).toThrow(/positive integer split size/);
      expect(() => chunk(x, 0)).toThrow(/positive integer number of chunks/);
      expect(() => split(s, 1)).toThrow(/at least a 1-dimensional/);
      expect(() => unbind(s)).toThrow(/at least a 1-dimensional/);
      expect(() => unbind(x, 2)).toThrow(/out of range/);
      for (const t of [x, s]) t.dispose();
    });
  });
}
