/**
 * Shape arithmetic shared by core, every backend and the tests: one implementation of
 * broadcasting, strides and dim normalisation so that no two places disagree.
 */
import { ShapeError } from './errors.js';

/** A tensor shape: sizes per dimension, outermost first. */
export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar, 0 when any size is 0). */
export function sizeOf(shape: Shape): number {
  // An index loop: `for...of` allocates an iterator wherever V8 does not inline this (it runs
  // several times per op, and was the largest allocation site of a small-op workload).
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/** Row-major (C-contiguous) element strides of a shape. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= Math.max(shape[i], 1);
  }
  return strides;
}

/** Whether a strided layout is row-major contiguous (size-1 dims may have any stride). */
export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Whether two shapes are equal. */
export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Formats a shape as PyTorch prints it, for error messages: `[2, 3]`. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** NumPy/PyTorch broadcasting of any number of shapes; throws naming the shapes that clash. */
export function broadcastShapes(...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else
        throw new ShapeError(
          `shapes ${shapes.map(formatShape).join(' and ')} cannot be broadcast: dimension ${o - rank} has sizes ${out[o]} and ${d}`,
        );
    }
  }
  return out;
}

/** Resolves a possibly negative dim against a rank, PyTorch style; throws when out of range. */
export function normalizeDim(dim: number, rank: number): number {
  const r = Math.max(rank, 1);
  if (!Number.isInteger(dim) || dim < -r || dim >= r) {
    throw new ShapeError(`dimension ${dim} is out of range for a tensor of rank ${rank} (expected ${-r} to ${r - 1})`);
  }
  return dim < 0 ? dim + r : dim;
}

/** Normalises a list of dims (or all dims when undefined), sorted and checked for repeats. */
export function normalizeDims(dims: number | readonly number[] | undefined, rank: number): number[] {
  if (dims === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = list.map((d) => normalizeDim(d, rank));
  const sorted = [...out].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) throw new ShapeError(`dimension ${sorted[i]} appears more than once in ${formatShape(list)}`);
  }
  return sorted;
}

/** The shape left after removing `axes` (or setting them to 1 when keepdim). */
export function reducedShape(shape: Shape, axes: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (axes.includes(i)) {
      if (keepdim) out.push(1);
    } else out.push(shape[i]);
  }
  return out;
}

/**
 * Throws a ShapeError naming `op` unless every size of `shape` is an integer in [0, 2^53):
 * above 2^53 doubles skip integers, so element counts and offsets would silently be wrong.
 */
export function checkSizes(op: string, shape: readonly unknown[]): void {
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d === 'number' && Number.isSafeInteger(d) && d >= 0) continue;
    const why = typeof d === 'number' && Number.isInteger(d) && d > 0 ? ' (sizes must be integers below 2^53)' : '';
    throw new ShapeError(`${op}: invalid size ${String(d)} at dim ${i} of shape ${formatShape(shape as number[])}${why}`);
  }
}

/**
 * Resolves a requested shape that may hold one -1 against a total element count.
 * Throws naming both shapes when they cannot hold the same number of elements.
 */
export function inferShape(requested: readonly number[], total: number, from: Shape): number[] {
  let infer = -1;
  let known = 1;
  requested.forEach((d, i) => {
    if (d === -1) {
      if (infer >= 0) throw new ShapeError(`only one dimension can be -1, got ${formatShape(requested)}`);
      infer = i;
    } else if (!Number.isSafeInteger(d) || d < 0) {
      const why = Number.isInteger(d) && d > 0 ? ' (sizes must be integers below 2^53)' : '';
      throw new ShapeError(`invalid size ${d} in shape ${formatShape(requested)}${why}`);
    } else known *= d;
  });
  const out = [...requested];
  if (infer >= 0) {
    if (known === 0 || total % known !== 0) {
      throw new ShapeError(`shape ${formatShape(requested)} is invalid for input of shape ${formatShape(from)} (${total} elements)`);
    }
    out[infer] = total / known;
  } else if (known !== total) {
    throw new ShapeError(`shape ${formatShape(requested)} is invalid for input of shape ${formatShape(from)} (${total} elements)`);
  }
  return out;
}

/**
 * Strides that view memory laid out as (`shape`, `strides`) under `newShape` without a copy,
 * or undefined when that is impossible (then reshape must copy). Same algorithm as
 * PyTorch's `computeStride`: groups of old dims that are contiguous among themselves.
 */
export function viewStrides(shape: Shape, strides: readonly number[], newShape: Shape): number[] | undefined {
  const total = sizeOf(shape);
  if (total === 0 || shape.length === 0) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length).fill(0);
  let viewD = newShape.length - 1;
  let chunkBase = strides[strides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d];
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return undefined;
      if (d > 0) {
        chunkBase = strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return undefined;
  return newStrides;
}

/** A strided layout: sizes and element strides per dim. */
export interface Layout {
  /** Sizes per dim. */
  shape: number[];
  /** Element strides per dim. */
  strides: number[];
}

/**
 * Simplifies a layout without changing the row-major order of its positions: size-1 dims
 * are dropped (their stride never matters) and neighbouring dims that step through memory
 * as one dim are merged, so a contiguous view collapses to one dim of stride 1. Backends use
 * it to iterate strided views with as few dims as possible.
 */
export function collapseLayout(shape: Shape, strides: readonly number[]): Layout {
  const outShape: number[] = [];
  const outStrides: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && outStrides[last] === strides[d] * shape[d]) {
      outShape[last] *= shape[d];
      outStrides[last] = strides[d];
    } else {
      outShape.push(shape[d]);
      outStrides.push(strides[d]);
    }
  }
  return { shape: outShape, strides: outStrides };
}
