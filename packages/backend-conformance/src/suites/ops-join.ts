/**
 * Joining and splitting: cat, stack, split, chunk, unbind. Values and gradients against
 * PyTorch (cases/join_index.json, made by tools/torch-cases/join_index.py), plus
 * gradchecks, view semantics and errors.
 *
 * This file also holds the small case-file helpers the indexing and misc suites share.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type DType,
  type Tensor,
  add,
  cat,
  chunk,
  gradcheck,
  gradients,
  memory,
  mul,
  split,
  stack,
  sum,
  tensor,
  tidy,
  unbind,
  zeros,
} from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import { type SuiteContext, expectTensor } from '../context.js';

/** A tensor as the case files store it: flat row-major values, shape, dtype. */
export interface CaseTensor {
  /** Flat values (bools as 0/1). */
  data: number[];
  /** Shape. */
  shape: number[];
  /** Dtype (PyTorch int64 is stored as int32). */
  dtype: DType;
}

/** One PyTorch reference case. */
export interface TorchCase {
  /** Named inputs. */
  inputs: Record<string, CaseTensor>;
  /** The op's outputs, in order. */
  outputs: CaseTensor[];
  /** Gradients of `sum_k sum(out_k * w_k)` for each float input (see {@link caseWeight}). */
  grads: Record<string, CaseTensor>;
}

let cache: Record<string, TorchCase> | undefined;

/** The reference case `name` from cases/join_index.json (throws when it does not exist). */
export function torchCase(name: string): TorchCase {
  if (!cache) {
    // From src/suites when tests run on sources; from dist/ when the kit is built.
    const url = [new URL('../../cases/join_index.json', import.meta.url), new URL('../cases/join_index.json', import.meta.url)].find((u) =>
      existsSync(fileURLToPath(u)),
    );
    if (!url) throw new Error('cases/join_index.json not found next to the conformance kit');
    cache = (JSON.parse(readFileSync(url, 'utf8')) as { cases: Record<string, TorchCase> }).cases;
  }
  const c = cache[name];
  if (!c) throw new Error(`no PyTorch case named '${name}' in cases/join_index.json; regenerate it with tools/torch-cases/join_index.py`);
  return c;
}

/** A case tensor on the active backend; float32 ones require grad when `grad` is set. */
export function caseTensor(t: CaseTensor, grad = false): Tensor {
  const values =
    t.dtype === 'float32' ? Float32Array.from(t.data) : t.dtype === 'int32' ? Int32Array.from(t.data) : Uint8Array.from(t.data);
  const out = tensor(values, { shape: t.shape, dtype: t.dtype });
  if (grad && t.dtype === 'float32') out.requiresGrad_(true);
  return out;
}

/** The fixed weight `w[i] = ((7 i) mod 11) / 11 - 0.3` over `shape` (same as the generator). */
export function caseWeight(shape: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Float32Array.from({ length: n }, (_, i) => ((7 * i) % 11) / 11 - 0.3),
    { shape },
  );
}

/**
 * Runs `fn` on the inputs of case `name` and asserts its outputs (values, shapes, dtypes)
 * and, for float inputs, the gradients of the weighted sum of the outputs, against PyTorch.
 */
export async function checkTorchCase(
  name: string,
  fn: (inputs: Record<string, Tensor>) => Tensor | Tensor[],
  tolerance: { atol?: number; rtol?: number } = {},
): Promise<void> {
  const c = torchCase(name);
  const gradNames = Object.keys(c.grads);
  const { outs, grads } = tidy(() => {
    const inputs: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(c.inputs)) inputs[k] = caseTensor(v, gradNames.includes(k));
    const result = fn(inputs);
    const list = Array.isArray(result) ? result : [result];
    let gs: Tensor[] = [];
    if (gradNames.length > 0) {
      const terms = list.filter((o) => o.requiresGrad).map((o) => sum(mul(o, caseWeight(o.shape))));
      const loss = terms.reduce((a, b) => add(a, b));
      gs = gradients(
        loss,
        gradNames.map((k) => inputs[k]),
        null,
        { allowUnused: true },
      ).map((g, i) => g ?? zeros(c.grads[gradNames[i]].shape));
    }
    return { outs: list, grads: gs };
  });
  try {
    expect(outs.length, `${name}: number of outputs`).toBe(c.outputs.length);
    for (let i = 0; i < outs.length; i++) {
      const want = c.outputs[i];
      await expectTensor(outs[i], want.data, { shape: want.shape, dtype: want.dtype, ...tolerance });
    }
    for (let i = 0; i < gradNames.length; i++) {
      const want = c.grads[gradNames[i]];
      await expectTensor(grads[i], want.data, { shape: want.shape, atol: 1e-4, rtol: 1e-4 });
    }
  } finally {
    for (const t of [...outs, ...grads]) t.dispose();
  }
}

/** Float inputs of case `name` (requiring grad), in the order the case lists them. */
export function caseInputs(name: string, ...keys: string[]): Tensor[] {
  const c = torchCase(name);
  return keys.map((k) => caseTensor(c.inputs[k], true));
}

/** Asserts that gradcheck passes for `fn` at `inputs`, then frees the inputs. */
export async function expectGradcheck(fn: (...inputs: Tensor[]) => Tensor | Tensor[], inputs: Tensor[]): Promise<void> {
  try {
    const result = await gradcheck(fn, inputs);
    expect(result.mismatches.slice(0, 5), 'gradcheck mismatches').toEqual([]);
    expect(result.ok).toBe(true);
  } finally {
    for (const t of inputs) t.dispose();
  }
}

/** Registers the tests of this area. */
export function opsJoinSuite(_ctx: SuiteContext): void {
  describe('cat', () => {
    it('joins along dim 0', () => checkTorchCase('cat_dim0', ({ a, b }) => cat([a, b], 0)));
    it('joins along a negative dim, three inputs', () => checkTorchCase('cat_neg_dim', ({ a, b, c }) => cat([a, b, c], -1)));
    it('reads non-contiguous inputs', () => checkTorchCase('cat_noncontig', ({ a, b }) => cat([a.t(), b], 1)));
    it('joins a middle dim of 3-d tensors', () => checkTorchCase('cat_3d_dim1', ({ a, b }) => cat([a, b], 1)));
    it('skips legacy 1-D empty tensors', () => checkTorchCase('cat_skip_empty', ({ e, a }) => cat([e, a], 1)));
    it('accepts inputs empty along the joined dim', () => checkTorchCase('cat_zero_size', ({ a, b }) => cat([a, b], 1)));
    it('promotes int32 with float32 to float32', () => checkTorchCase('cat_promote', ({ a, b }) => cat([a, b])));
    it('promotes bool with int32 to int32', () => checkTorchCase('cat_int_bool', ({ a, b }) => cat([a, b])));
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
    it('passes gradcheck', () => expectGradcheck((a, b, c) => cat([a, b, c], -1), caseInputs('cat_neg_dim', 'a', 'b', 'c')));
    it('passes gradcheck with a non-contiguous input', () =>
      expectGradcheck((a, b) => cat([a.t(), b], 1), caseInputs('cat_noncontig', 'a', 'b')));
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
    it('stacks along dim 0', () => checkTorchCase('stack_dim0', ({ a, b }) => stack([a, b])));
    it('stacks along dim 1', () => checkTorchCase('stack_dim1', ({ a, b }) => stack([a, b], 1)));
    it('stacks along a negative dim', () => checkTorchCase('stack_neg', ({ a, b, c }) => stack([a, b, c], -1)));
    it('stacks 0-d tensors into a vector', () => checkTorchCase('stack_0d', ({ a, b }) => stack([a, b])));
    it('passes gradcheck', () => expectGradcheck((a, b) => stack([a, b], 1), caseInputs('stack_dim1', 'a', 'b')));
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
    it('split by size (last piece smaller)', () => checkTorchCase('split_size', ({ x }) => split(x, 2, 0)));
    it('split by sizes along a negative dim (a zero size allowed)', () =>
      checkTorchCase('split_sizes_neg', ({ x }) => split(x, [1, 0, 4], -1)));
    it('chunk gives ceil-sized pieces, maybe fewer than asked', () => checkTorchCase('chunk_5_4', ({ x }) => chunk(x, 4)));
    it('chunk along dim 1', () => checkTorchCase('chunk_dim1', ({ x }) => chunk(x, 2, 1)));
    it('unbind along dim 1', () => checkTorchCase('unbind_dim1', ({ x }) => unbind(x, 1)));
    it('unbind along a negative dim', () => checkTorchCase('unbind_neg', ({ x }) => unbind(x, -1)));
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
    it('split passes gradcheck', () => expectGradcheck((x) => split(x, [1, 0, 4], -1), caseInputs('split_sizes_neg', 'x')));
    it('chunk passes gradcheck', () => expectGradcheck((x) => chunk(x, 2, 1), caseInputs('chunk_dim1', 'x')));
    it('unbind passes gradcheck', () => expectGradcheck((x) => unbind(x, -1), caseInputs('unbind_neg', 'x')));
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
