/**
 * Shape and view ops: reshape, view, flatten, squeeze, unsqueeze, permute, transpose, t,
 * expand, slice, narrow, select, contiguous, clone, detach. Checks values, that views share
 * storage (no new backend buffer), that copies do not, gradients against PyTorch
 * (cases/join_index.json) and gradchecks.
 */
import {
  type Tensor,
  arange,
  clone,
  contiguous,
  detach,
  expand,
  flatten,
  gradients,
  mul,
  sum,
  memory,
  narrow,
  permute,
  reshape,
  select,
  slice,
  squeeze,
  t,
  tensor,
  transpose,
  unsqueeze,
  view,
  zeros,
} from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import { joinIndexCases as cases } from '../cases.js';
import { expectGradcheck } from '../checks.js';
import { type SuiteContext, expectTensor } from '../context.js';

function dispose(...ts: Tensor[]): void {
  for (const x of ts) x.dispose();
}

/** 0..n-1 as float32 with `shape`. */
function iota(shape: number[]): Tensor {
  const r = arange(
    0,
    shape.reduce((a, b) => a * b, 1),
  );
  const out = reshape(r, shape);
  r.dispose();
  return out;
}

/** Runs `make(x)` and asserts it allocated no backend buffer and shares `x`'s storage. */
function expectView(x: Tensor, make: (x: Tensor) => Tensor): Tensor {
  const before = memory().buffers;
  const v = make(x);
  expect(memory().buffers, 'a view must not allocate').toBe(before);
  expect(v.storage, 'a view must share storage').toBe(x.storage);
  return v;
}

/** Registers the tests of this area. */
export function opsViewSuite(_ctx: SuiteContext): void {
  describe('reshape / view / flatten', () => {
    it('reshape of a contiguous tensor is a view, with -1 inferred', async () => {
      const x = iota([2, 3]);
      const y = expectView(x, (a) => reshape(a, 3, -1));
      await expectTensor(y, [
        [0, 1],
        [2, 3],
        [4, 5],
      ]);
      const z = expectView(x, (a) => reshape(a, [6]));
      await expectTensor(z, [0, 1, 2, 3, 4, 5]);
      dispose(x, y, z);
    });
    it('reshape of a non-viewable layout copies', async () => {
      await cases.check('view_reshape_noncontig', ({ x }) => reshape(x.t(), 2, 3));
      const x = iota([2, 3]);
      const xt = t(x);
      const before = memory().buffers;
      const y = reshape(xt, [6]);
      expect(memory().buffers).toBe(before + 1);
      await expectTensor(y, [0, 3, 1, 4, 2, 5]);
      dispose(x, xt, y);
    });
    it('reshape to and from 0-d and empty shapes', async () => {
      const s = tensor([7]);
      const a = reshape(s, []);
      await expectTensor(a, 7);
      const b = reshape(a, [1, 1]);
      await expectTensor(b, [[7]]);
      const e = zeros([0, 3]);
      const f = reshape(e, [3, 0, 1]);
      expect([...f.shape]).toEqual([3, 0, 1]);
      dispose(s, a, b, e, f);
    });
    it('view shares data and refuses non-viewable layouts', async () => {
      const x = iota([2, 3]);
      const y = expectView(x, (a) => view(a, 3, 2));
      await expectTensor(y, [
        [0, 1],
        [2, 3],
        [4, 5],
      ]);
      const xt = t(x);
      expect(() => view(xt, 6)).toThrow(/not compatible.*reshape/);
      dispose(x, y, xt);
    });
    it('rejects shapes of another element count and several -1', () => {
      const x = iota([2, 3]);
      expect(() => reshape(x, 4, 2)).toThrow(/\[4, 2\] is invalid for input of shape \[2, 3\]/);
      expect(() => reshape(x, -1, -1)).toThrow(/only one dimension can be -1/);
      expect(() => view(x, 5, -1)).toThrow(/invalid for input of shape \[2, 3\]/);
      x.dispose();
    });
    it('flatten dims, of a non-contiguous input, and of a 0-d tensor', async () => {
      await cases.check('view_flatten', ({ x }) => flatten(permute(x, 1, 0, 2), 1));
      const x = iota([2, 3, 2]);
      const a = expectView(x, (v) => flatten(v));
      expect([...a.shape]).toEqual([12]);
      const b = expectView(x, (v) => flatten(v, 0, -2));
      expect([...b.shape]).toEqual([6, 2]);
      const s = tensor(3);
      const c = flatten(s);
      await expectTensor(c, [3]);
      expect(() => flatten(x, 2, 1)).toThrow(/startDim 2 comes after endDim 1/);
      dispose(x, a, b, s, c);
    });
  });

  describe('squeeze / unsqueeze', () => {
    it('squeeze all, one, several, and a non-1 dim (kept)', () => {
      const x = zeros([1, 3, 1, 2]);
      const shapes = [squeeze(x), squeeze(x, 0), squeeze(x, [0, -2]), squeeze(x, 1)];
      expect(shapes.map((v) => [...v.shape])).toEqual([
        [3, 2],
        [3, 1, 2],
        [3, 2],
        [1, 3, 1, 2],
      ]);
      dispose(x, ...shapes);
    });
    it('unsqueeze at the front, the end (rank) and a negative dim; views', async () => {
      const x = iota([2, 3]);
      const a = expectView(x, (v) => unsqueeze(v, 0));
      const b = expectView(x, (v) => unsqueeze(v, 2));
      const c = expectView(x, (v) => unsqueeze(v, -2));
      expect([a.shape, b.shape, c.shape].map((s) => [...s])).toEqual([
        [1, 2, 3],
        [2, 3, 1],
        [2, 1, 3],
      ]);
      await expectTensor(c, [[[0, 1, 2]], [[3, 4, 5]]]);
      const s = tensor(5);
      const d = unsqueeze(s, 0);
      await expectTensor(d, [5]);
      expect(() => unsqueeze(x, 3)).toThrow(/out of range/);
      dispose(x, a, b, c, s, d);
    });
    it('squeeze then unsqueeze has PyTorch gradients', () => cases.check('view_squeeze_unsqueeze', ({ x }) => unsqueeze(squeeze(x), -1)));
  });

  describe('permute / transpose / t', () => {
    it('permute (PyTorch values and gradients)', () => cases.check('view_permute', ({ x }) => permute(x, 2, 0, 1)));
    it('transpose with a negative dim', () => cases.check('view_transpose_neg', ({ x }) => transpose(x, -1, 0)));
    it('permute and transpose are views with permuted strides', () => {
      const x = iota([2, 3, 4]);
      const p = expectView(x, (v) => permute(v, [2, 0, 1]));
      expect([...p.shape]).toEqual([4, 2, 3]);
      expect([...p.strides]).toEqual([1, 12, 4]);
      expect(p.isContiguous).toBe(false);
      const tr = expectView(x, (v) => transpose(v, 0, 2));
      expect([...tr.shape]).toEqual([4, 3, 2]);
      dispose(x, p, tr);
    });
    it('t of a matrix, a vector and a 0-d tensor', async () => {
      const m = iota([2, 3]);
      const mt = expectView(m, t);
      await expectTensor(mt, [
        [0, 3],
        [1, 4],
        [2, 5],
      ]);
      const v = iota([3]);
      const vt = t(v);
      await expectTensor(vt, [0, 1, 2]);
      const s = tensor(2);
      const st = t(s);
      await expectTensor(st, 2);
      dispose(m, mt, v, vt, s, st);
    });
    it('rejects non-permutations and t of rank 3', () => {
      const x = zeros([2, 3, 4]);
      expect(() => permute(x, 0, 0, 1)).toThrow(/permutation of 3 dims/);
      expect(() => permute(x, 0, 1)).toThrow(/permutation of 3 dims/);
      expect(() => t(x)).toThrow(/<= 2 dims/);
      x.dispose();
    });
  });

  describe('expand', () => {
    it('broadcasts size-1 dims and adds leading dims (PyTorch values and gradients)', () =>
      cases.check('view_expand', ({ x }) => expand(x, 2, 3, 4)));
    it('is a view with stride 0 and keeps -1 sizes', async () => {
      const x = iota([3, 1]);
      const y = expectView(x, (v) => expand(v, -1, 2));
      expect([...y.strides]).toEqual([1, 0]);
      await expectTensor(y, [
        [0, 0],
        [1, 1],
        [2, 2],
      ]);
      dispose(x, y);
    });
    it('rejects expanding a non-1 dim, fewer dims, and -1 for a new dim', () => {
      const x = zeros([3, 1]);
      expect(() => expand(x, 4, 2)).toThrow(/size 3 of input dim 0.*must be 1/);
      expect(() => expand(x, 3)).toThrow(/fewer dims/);
      expect(() => expand(x, -1, 3, 1)).toThrow(/-1 is not allowed/);
      x.dispose();
    });
  });

  describe('slice / narrow / select', () => {
    it('slice with a step (PyTorch values and gradients)', () => cases.check('view_slice_step', ({ x }) => slice(x, 1, 1, undefined, 2)));
    it('slice with negative bounds', () => cases.check('view_slice_neg', ({ x }) => slice(x, 0, -3, -1)));
    it('narrow along a negative dim', () => cases.check('view_narrow', ({ x }) => narrow(x, -1, 1, 2)));
    it('select with a negative index', () => cases.check('view_select', ({ x }) => select(x, 1, -1)));
    it('are views; out-of-range slice bounds clamp to empty', async () => {
      const x = iota([4, 2]);
      const a = expectView(x, (v) => slice(v, 0, 1, 3));
      await expectTensor(a, [
        [2, 3],
        [4, 5],
      ]);
      const b = expectView(x, (v) => narrow(v, 1, 1, 1));
      await expectTensor(b, [[1], [3], [5], [7]]);
      const c = expectView(x, (v) => select(v, 0, 2));
      await expectTensor(c, [4, 5]);
      const e = slice(x, 0, 10, 20);
      expect([...e.shape]).toEqual([0, 2]);
      const f = slice(x, 0, 3, 1);
      expect([...f.shape]).toEqual([0, 2]);
      dispose(x, a, b, c, e, f);
    });
    it('rejects a bad step, narrow past the end, and select out of range', () => {
      const x = zeros([4, 2]);
      expect(() => slice(x, 0, 0, 4, 0)).toThrow(/step must be a positive integer/);
      expect(() => narrow(x, 0, 3, 2)).toThrow(/exceeds size 4/);
      expect(() => select(x, 1, 2)).toThrow(/index 2 is out of range for dim 1 of size 2/);
      expect(() => select(x, 0, -5)).toThrow(/out of range/);
      x.dispose();
    });
  });

  describe('contiguous / clone / detach', () => {
    it('contiguous returns the tensor itself when already contiguous', () => {
      const x = iota([2, 3]);
      expect(contiguous(x)).toBe(x);
      x.dispose();
    });
    it('contiguous of a strided tensor copies (PyTorch values and gradients)', async () => {
      await cases.check('view_contiguous', ({ x }) => contiguous(t(x)));
      const x = iota([2, 3]);
      const xt = t(x);
      const before = memory().buffers;
      const c = contiguous(xt);
      expect(memory().buffers).toBe(before + 1);
      expect(c.isContiguous).toBe(true);
      await expectTensor(c, [
        [0, 3],
        [1, 4],
        [2, 5],
      ]);
      dispose(x, xt, c);
    });
    it('clone copies into a new buffer', async () => {
      const x = iota([2, 2]);
      const before = memory().buffers;
      const c = clone(x);
      expect(memory().buffers).toBe(before + 1);
      expect(c.storage).not.toBe(x.storage);
      await expectTensor(c, [
        [0, 1],
        [2, 3],
      ]);
      x.dispose();
      await expectTensor(c, [
        [0, 1],
        [2, 3],
      ]);
      c.dispose();
    });
    it('detach shares data but leaves the graph', () => {
      const x = iota([2]).requiresGrad_(true);
      const y = x.mul(2);
      const d = expectView(y, detach);
      expect(d.requiresGrad).toBe(false);
      expect(d.isLeaf).toBe(true);
      expect(d.gradFn).toBe(null);
      expect(y.gradFn).not.toBe(null);
      dispose(x, y, d);
    });
  });

  describe('gradcheck', () => {
    const x = () => cases.inputs('view_permute', 'x'); // [2, 3, 4]
    it('reshape', () => expectGradcheck((a) => reshape(a, 4, -1), x()));
    it('reshape of a non-contiguous input', () => expectGradcheck((a) => reshape(transpose(a, 0, 2), -1), x()));
    it('view', () => expectGradcheck((a) => view(a, 6, 4), x()));
    it('flatten', () => expectGradcheck((a) => flatten(a, 1), x()));
    it('squeeze / unsqueeze', () => expectGradcheck((a) => unsqueeze(squeeze(a), 1), cases.inputs('view_squeeze_unsqueeze', 'x')));
    it('permute', () => expectGradcheck((a) => permute(a, 1, 2, 0), x()));
    it('transpose', () => expectGradcheck((a) => transpose(a, 0, -1), x()));
    it('t', () => expectGradcheck((a) => t(a), cases.inputs('view_contiguous', 'x')));
    it('expand', () => expectGradcheck((a) => expand(a, 2, 3, 4), cases.inputs('view_expand', 'x')));
    it('slice with a step', () => expectGradcheck((a) => slice(a, 1, 1, undefined, 2), cases.inputs('view_slice_step', 'x')));
    it('narrow', () => expectGradcheck((a) => narrow(a, -1, 1, 2), x()));
    it('select', () => expectGradcheck((a) => select(a, 1, -1), x()));
    it('contiguous', () => expectGradcheck((a) => contiguous(t(a)), cases.inputs('view_contiguous', 'x')));
    it('clone', () => expectGradcheck((a) => clone(a), x()));
    it('detach blocks the gradient', async () => {
      // d/da sum(a * detach(a)) = detach(a), not 2a: nothing flows through the detached factor.
      const a = tensor([1, -2, 3]).requiresGrad_(true);
      const y = sum(mul(a, detach(a)));
      const [g] = gradients(y, [a]);
      await expectTensor(g as Tensor, [1, -2, 3]);
      dispose(a, y, g as Tensor);
    });
  });
}
