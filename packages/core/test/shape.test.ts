/** Unit tests of the shared shape helpers (broadcasting, strides, dims, -1 inference). */
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../src/errors.js';
import {
  broadcastShapes,
  contiguousStrides,
  formatShape,
  inferShape,
  isContiguous,
  normalizeDim,
  normalizeDims,
  reducedShape,
  shapesEqual,
  sizeOf,
  viewStrides,
} from '../src/shape.js';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('sizeOf / contiguousStrides / isContiguous / formatShape', () => {
  it('counts elements', () => {
    expect(sizeOf([])).toBe(1);
    expect(sizeOf([2, 3, 4])).toBe(24);
    expect(sizeOf([3, 0, 2])).toBe(0);
  });

  it('computes row-major strides like PyTorch (size-0 dims count as 1)', () => {
    expect(contiguousStrides([2, 3, 4])).toEqual([12, 4, 1]);
    expect(contiguousStrides([])).toEqual([]);
    expect(contiguousStrides([3, 0])).toEqual([1, 1]);
    expect(contiguousStrides([0, 3])).toEqual([3, 1]);
  });

  it('ignores strides of size-1 dims when checking contiguity', () => {
    expect(isContiguous([2, 1, 3], [3, 99, 1])).toBe(true);
    expect(isContiguous([3, 2], [1, 3])).toBe(false);
    expect(isContiguous([3, 4], [0, 1])).toBe(false);
    expect(isContiguous([], [])).toBe(true);
  });

  it('formats and compares shapes', () => {
    expect(formatShape([2, 3])).toBe('[2, 3]');
    expect(formatShape([])).toBe('[]');
    expect(shapesEqual([2, 3], [2, 3])).toBe(true);
    expect(shapesEqual([2, 3], [3, 2])).toBe(false);
    expect(shapesEqual([1], [])).toBe(false);
  });
});

describe('broadcastShapes', () => {
  it('broadcasts like NumPy/PyTorch', () => {
    expect(broadcastShapes([2, 1, 3], [4, 3])).toEqual([2, 4, 3]);
    expect(broadcastShapes([], [3])).toEqual([3]);
    expect(broadcastShapes([], [])).toEqual([]);
    expect(broadcastShapes([5, 1], [1, 6], [6])).toEqual([5, 6]);
    expect(broadcastShapes([1], [0])).toEqual([0]);
    expect(broadcastShapes([1, 0], [3, 1])).toEqual([3, 0]);
  });

  it('throws a ShapeError naming both shapes and the clashing dim', () => {
    const e = thrown(() => broadcastShapes([2, 3], [3, 2]));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain('[2, 3]');
    expect(e.message).toContain('[3, 2]');
    expect(e.message).toContain('dimension -2');
    expect(() => broadcastShapes([0], [2])).toThrow(ShapeError);
    expect(() => broadcastShapes([2], [0])).toThrow(ShapeError);
  });
});

describe('viewStrides (PyTorch computeStride)', () => {
  it('views contiguous memory under any shape with the same numel', () => {
    expect(viewStrides([2, 3, 4], [12, 4, 1], [6, 4])).toEqual([4, 1]);
    expect(viewStrides([2, 3, 4], [12, 4, 1], [24])).toEqual([1]);
    expect(viewStrides([2, 3, 4], [12, 4, 1], [4, 6])).toEqual([6, 1]);
    // torch.empty(2, 3, 4).view(1, 2, 1, 12, 1).stride() == (24, 12, 12, 1, 1)
    expect(viewStrides([2, 3, 4], [12, 4, 1], [1, 2, 1, 12, 1])).toEqual([24, 12, 12, 1, 1]);
  });

  it('refuses to flatten a transposed tensor (reshape must copy)', () => {
    // torch.empty(2, 3).t(): shape (3, 2), strides (1, 3)
    expect(viewStrides([3, 2], [1, 3], [6])).toBeUndefined();
    expect(viewStrides([3, 2], [1, 3], [2, 3])).toBeUndefined();
  });

  it('inserts size-1 dims into a transposed tensor', () => {
    expect(viewStrides([3, 2], [1, 3], [3, 2, 1])).toEqual([1, 3, 3]);
    expect(viewStrides([3, 2], [1, 3], [3, 1, 2])).toEqual([1, 6, 3]);
  });

  it('splits a strided dim but does not merge non-adjacent ones', () => {
    // torch.empty(2, 3, 4).permute(0, 2, 1): shape (2, 4, 3), strides (12, 1, 4)
    expect(viewStrides([2, 4, 3], [12, 1, 4], [2, 2, 2, 3])).toEqual([12, 2, 1, 4]);
    expect(viewStrides([2, 4, 3], [12, 1, 4], [2, 12])).toBeUndefined();
    expect(viewStrides([2, 4, 3], [12, 1, 4], [8, 3])).toBeUndefined();
  });

  it('handles sliced rows, broadcast dims and size-1 dims with odd strides', () => {
    // torch.empty(3, 4)[:, :2]: shape (3, 2), strides (4, 1)
    expect(viewStrides([3, 2], [4, 1], [6])).toBeUndefined();
    expect(viewStrides([3, 2], [4, 1], [3, 1, 2])).toEqual([4, 2, 1]);
    expect(viewStrides([3, 4], [0, 1], [12])).toBeUndefined();
    expect(viewStrides([3, 4], [0, 1], [3, 2, 2])).toEqual([0, 2, 1]);
    expect(viewStrides([2, 1, 3], [3, 99, 1], [6])).toEqual([1]);
  });

  it('gives contiguous strides for empty and 0-d tensors', () => {
    expect(viewStrides([0, 3], [3, 1], [3, 0])).toEqual([1, 1]);
    expect(viewStrides([], [], [1, 1])).toEqual([1, 1]);
    expect(viewStrides([1, 1], [1, 1], [])).toEqual([]);
  });
});

describe('inferShape', () => {
  it('resolves one -1', () => {
    expect(inferShape([-1, 4], 12, [3, 4])).toEqual([3, 4]);
    expect(inferShape([2, -1, 2], 12, [12])).toEqual([2, 3, 2]);
    expect(inferShape([-1], 0, [0, 3])).toEqual([0]);
    expect(inferShape([2, 6], 12, [3, 4])).toEqual([2, 6]);
    expect(inferShape([], 1, [1, 1])).toEqual([]);
  });

  it('throws naming both shapes when the sizes do not fit', () => {
    const e = thrown(() => inferShape([5, -1], 12, [3, 4]));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain('[5, -1]');
    expect(e.message).toContain('[3, 4]');
    const f = thrown(() => inferShape([2, 5], 12, [3, 4]));
    expect(f.message).toContain('[2, 5]');
    expect(f.message).toContain('[3, 4]');
  });

  it('rejects two -1s, invalid sizes and an ambiguous -1 with a zero', () => {
    expect(() => inferShape([-1, -1], 12, [12])).toThrow(/only one dimension can be -1/);
    expect(() => inferShape([2.5, 4], 10, [10])).toThrow(ShapeError);
    expect(() => inferShape([-2, 6], 12, [12])).toThrow(ShapeError);
    expect(() => inferShape([-1, 0], 0, [0])).toThrow(ShapeError);
  });
});

describe('normalizeDim / normalizeDims / reducedShape', () => {
  it('wraps negative dims', () => {
    expect(normalizeDim(-1, 3)).toBe(2);
    expect(normalizeDim(-3, 3)).toBe(0);
    expect(normalizeDim(2, 3)).toBe(2);
  });

  it('accepts dim 0 and -1 on a 0-d tensor, like PyTorch', () => {
    expect(normalizeDim(0, 0)).toBe(0);
    expect(normalizeDim(-1, 0)).toBe(0);
    expect(() => normalizeDim(1, 0)).toThrow(ShapeError);
  });

  it('throws naming the dim, the rank and the valid range', () => {
    const e = thrown(() => normalizeDim(3, 3));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain('dimension 3');
    expect(e.message).toContain('rank 3');
    expect(e.message).toContain('-3 to 2');
    expect(() => normalizeDim(-4, 3)).toThrow(/expected -3 to 2/);
    expect(() => normalizeDim(1.5, 3)).toThrow(ShapeError);
  });

  it('sorts dims, expands undefined to all and rejects repeats', () => {
    expect(normalizeDims([2, -3], 3)).toEqual([0, 2]);
    expect(normalizeDims(-1, 3)).toEqual([2]);
    expect(normalizeDims(undefined, 3)).toEqual([0, 1, 2]);
    expect(normalizeDims(undefined, 0)).toEqual([]);
    expect(() => normalizeDims([1, -2], 3)).toThrow(/appears more than once/);
  });

  it('drops or keeps reduced axes', () => {
    expect(reducedShape([2, 3, 4], [0, 2], false)).toEqual([3]);
    expect(reducedShape([2, 3, 4], [0, 2], true)).toEqual([1, 3, 1]);
    expect(reducedShape([2, 3], [], false)).toEqual([2, 3]);
  });
});
