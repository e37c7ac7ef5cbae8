/**
 * Indexing: gather, scatter, scatterAdd, indexSelect. Values and gradients against PyTorch
 * (cases/join_index.json), gradchecks, and the validation errors.
 */
import { type Tensor, gather, indexSelect, scatter, scatterAdd, tensor, zeros } from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import { joinIndexCases as cases } from '../cases.js';
import { expectGradcheck } from '../checks.js';
import { type SuiteContext, expectTensor } from '../context.js';
import { INDEX_FAULT_SCENARIOS, expectIndexError } from './index-faults.js';

/** The int32 index tensor `key` of case `name`. */
function caseIndex(name: string, key = 'i'): Tensor {
  return cases.tensor(name, key);
}

function dispose(...ts: Tensor[]): void {
  for (const t of ts) t.dispose();
}

/** Registers the tests of this area. */
export function opsIndexingSuite(ctx: SuiteContext): void {
  describe('gather', () => {
    it('along dim 1', () => cases.check('gather_dim1', ({ x, i }) => gather(x, 1, i)));
    it('along dim 0 with an index smaller than the input', () => cases.check('gather_dim0_small', ({ x, i }) => gather(x, 0, i)));
    it('from a non-contiguous input along a negative dim', () => cases.check('gather_noncontig_neg', ({ x, i }) => gather(x.t(), -1, i)));
    it('of 0-d tensors', () => cases.check('gather_0d', ({ x, i }) => gather(x, 0, i)));
    it('with an empty index gives an empty result', async () => {
      const x = tensor([[1, 2]]);
      const i = zeros([1, 0], { dtype: 'int32' });
      const y = gather(x, 1, i);
      await expectTensor(y, [], { shape: [1, 0] });
      dispose(x, i, y);
    });
    it('passes gradcheck (repeated indices accumulate)', () => {
      const i = caseIndex('gather_dim1');
      return expectGradcheck((x) => gather(x, 1, i), cases.inputs('gather_dim1', 'x')).finally(() => i.dispose());
    });
    it('passes gradcheck on a non-contiguous input', () => {
      const i = caseIndex('gather_noncontig_neg');
      return expectGradcheck((x) => gather(x.t(), -1, i), cases.inputs('gather_noncontig_neg', 'x')).finally(() => i.dispose());
    });
    it('rejects a non-int32 index, a rank mismatch, and too-large index sizes', () => {
      const x = zeros([2, 3]);
      const f = zeros([2, 3]);
      const r = zeros([2], { dtype: 'int32' });
      const big = zeros([3, 3], { dtype: 'int32' });
      expect(() => gather(x, 1, f)).toThrow(/int32 index.*float32/);
      expect(() => gather(x, 1, r)).toThrow(/same number of dimensions/);
      expect(() => gather(x, 1, big)).toThrow(/size 3 of index \[3, 3\] in dimension 0 exceeds size 2/);
      dispose(x, f, r, big);
    });
    it('rejects out-of-range indices (at the call, or at the next read on asynchronous backends)', async () => {
      const x = zeros([2, 3]);
      const hi = tensor([[0, 3]], { dtype: 'int32' });
      const lo = tensor([[-1, 0]], { dtype: 'int32' });
      try {
        await expectIndexError(ctx.device, 'gather', () => gather(x, 1, hi), /index 3 is out of bounds for dimension 1 with size 3/);
        await expectIndexError(ctx.device, 'gather', () => gather(x, 1, lo), /index -1 is out of bounds/);
      } finally {
        dispose(x, hi, lo);
      }
    });
  });

  describe('scatter / scatterAdd', () => {
    it('scatter along dim 0 (src larger than index)', () => cases.check('scatter_dim0', ({ x, s, i }) => scatter(x, 0, i, s)));
    it('scatter along dim 1', () => cases.check('scatter_dim1', ({ x, s, i }) => scatter(x, 1, i, s)));
    it('scatter of a number along a negative dim', () => cases.check('scatter_value', ({ x, i }) => scatter(x, -1, i, 2.5)));
    it('scatterAdd accumulates repeated indices', () => cases.check('scatter_add_dup', ({ x, s, i }) => scatterAdd(x, 0, i, s)));
    it('scatterAdd with src larger than index', () => cases.check('scatter_add_small_src', ({ x, s, i }) => scatterAdd(x, 1, i, s)));
    it('does not modify its input', async () => {
      const x = zeros([2, 2]);
      const i = tensor([[1], [0]], { dtype: 'int32' });
      const y = scatter(x, 1, i, 7);
      await expectTensor(y, [
        [0, 7],
        [7, 0],
      ]);
      await expectTensor(x, [
        [0, 0],
        [0, 0],
      ]);
      dispose(x, i, y);
    });
    it('works on int32 tensors', async () => {
      const x = tensor([1, 2, 3], { dtype: 'int32' });
      const i = tensor([2, 2, 0], { dtype: 'int32' });
      const s = tensor([10, 20, 30], { dtype: 'int32' });
      const y = scatterAdd(x, 0, i, s);
      await expectTensor(y, [31, 2, 33], { dtype: 'int32' });
      dispose(x, i, s, y);
    });
    it('scatter passes gradcheck for base and src', () => {
      const i = caseIndex('scatter_dim0');
      return expectGradcheck((x, s) => scatter(x, 0, i, s), cases.inputs('scatter_dim0', 'x', 's')).finally(() => i.dispose());
    });
    it('scatterAdd passes gradcheck for base and src', () => {
      const i = caseIndex('scatter_add_dup');
      return expectGradcheck((x, s) => scatterAdd(x, 0, i, s), cases.inputs('scatter_add_dup', 'x', 's')).finally(() => i.dispose());
    });
    it('rejects a src of another dtype or too small, and bad indices (at the call, or at the next read)', async () => {
      const x = zeros([2, 3]);
      const i = zeros([2, 2], { dtype: 'int32' });
      const si = zeros([2, 2], { dtype: 'int32' });
      const small = zeros([2, 1]);
      const bad = tensor([[0, 5]], { dtype: 'int32' });
      try {
        expect(() => scatter(x, 1, i, si)).toThrow(/src.*dtype float32.*int32/);
        expect(() => scatterAdd(x, 1, i, small)).toThrow(/exceeds size 1 of src \[2, 1\]/);
        expect(() => scatter(x, 1, small, 1)).toThrow(/int32 index/);
        await expectIndexError(ctx.device, 'scatter', () => scatter(x, 1, bad, 1), /index 5 is out of bounds for dimension 1 with size 3/);
      } finally {
        dispose(x, i, si, small, bad);
      }
    });
  });

  describe('indexSelect', () => {
    it('along dim 0 with repeats', () => cases.check('index_select_dim0', ({ x, i }) => indexSelect(x, 0, i)));
    it('along a negative dim of a 3-d tensor', () => cases.check('index_select_neg', ({ x, i }) => indexSelect(x, -1, i)));
    it('from a non-contiguous input', () => cases.check('index_select_noncontig', ({ x, i }) => indexSelect(x.t(), 1, i)));
    it('with a 0-d or empty index', async () => {
      const x = tensor([
        [1, 2],
        [3, 4],
      ]);
      const i0 = tensor(1, { dtype: 'int32' });
      const e = zeros([0], { dtype: 'int32' });
      const a = indexSelect(x, 0, i0);
      const b = indexSelect(x, 1, e);
      await expectTensor(a, [[3, 4]]);
      await expectTensor(b, [], { shape: [2, 0] });
      dispose(x, i0, e, a, b);
    });
    it('passes gradcheck (repeats accumulate)', () => {
      const i = caseIndex('index_select_dim0');
      return expectGradcheck((x) => indexSelect(x, 0, i), cases.inputs('index_select_dim0', 'x')).finally(() => i.dispose());
    });
    it('rejects a 2-D or float index, and out-of-range values (at the call, or at the next read)', async () => {
      const x = zeros([3, 2]);
      const i2 = zeros([1, 1], { dtype: 'int32' });
      const f = zeros([1]);
      const bad = tensor([3], { dtype: 'int32' });
      try {
        expect(() => indexSelect(x, 0, i2)).toThrow(/1-D/);
        expect(() => indexSelect(x, 0, f)).toThrow(/int32 index/);
        await expectIndexError(
          ctx.device,
          'indexSelect',
          () => indexSelect(x, 0, bad),
          /index 3 is out of bounds for dimension 0 with size 3/,
        );
      } finally {
        dispose(x, i2, f, bad);
      }
    });
  });

  describe('out-of-range indices raise IndexError, at the call or (asynchronous backends) at the next read or sync', () => {
    for (const scenario of INDEX_FAULT_SCENARIOS) it(scenario.name, () => scenario.run(ctx.device));
  });
}
