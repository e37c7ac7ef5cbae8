/**
 * Shape and view ops. None of them copy data (except `reshape` of a layout that cannot be
 * viewed, `contiguous` of a strided tensor, and `clone`); all are differentiable.
 */
import { recordOp } from '../autograd/record.js';
import { ShapeError } from '../errors.js';
import { type Shape, checkSizes, contiguousStrides, formatShape, inferShape, normalizeDim, shapesEqual, viewStrides } from '../shape.js';
import { fromDataId, makeView, shareData } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { cat } from './join.js';
import { sum } from './reduce.js';
import { scatter } from './indexing.js';
import { arange, zeros } from './creation.js';

function shapeArgs(args: readonly (number | readonly number[])[]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return [...(args[0] as readonly number[])];
  return args as number[];
}

/**
 * A tensor with the same data and a new shape (one dim may be -1). Shares data when the
 * layout allows, else copies (like `torch.reshape`).
 */
export function reshape(x: Tensor, ...shape: (number | readonly number[])[]): Tensor {
  const target = inferShape(shapeArgs(shape), x.size, x.shape);
  const strides = viewStrides(x.shape, x.strides, target);
  const src = strides ? x : contiguous(x);
  const out = makeView(src, target, strides ?? contiguousStrides(target), src.offset);
  if (src !== x) src.dispose();
  recordOp({ name: 'reshape', inputs: [x], outputs: [out], backward: ([g]) => [reshape(g, x.shape)] });
  return out;
}

/** Like `reshape`, but throws instead of copying when the layout cannot be viewed (`torch.view`). */
export function view(x: Tensor, ...shape: (number | readonly number[])[]): Tensor {
  const target = inferShape(shapeArgs(shape), x.size, x.shape);
  const strides = viewStrides(x.shape, x.strides, target);
  if (!strides) {
    throw new ShapeError(
      `view size ${formatShape(target)} is not compatible with input of shape ${formatShape(x.shape)} and strides ${formatShape(x.strides)}; use reshape() (which copies) or contiguous() first`,
    );
  }
  const out = makeView(x, target, strides, x.offset);
  recordOp({ name: 'view', inputs: [x], outputs: [out], backward: ([g]) => [reshape(g, x.shape)] });
  return out;
}

/** Flattens dims `startDim..endDim` (inclusive) into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeDim(startDim, x.rank);
  const e = normalizeDim(endDim, x.rank);
  if (s > e) throw new ShapeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const shape = [...x.shape.slice(0, s), x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/** Removes size-1 dims: all of them, or the given ones (a given dim that is not size 1 stays). */
export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  const dims = dim === undefined ? null : (typeof dim === 'number' ? [dim] : dim).map((d) => normalizeDim(d, x.rank));
  const shape: number[] = [];
  const strides: number[] = [];
  x.shape.forEach((d, i) => {
    if (d === 1 && (dims === null || dims.includes(i))) return;
    shape.push(d);
    strides.push(x.strides[i]);
  });
  const out = makeView(x, shape, strides, x.offset);
  recordOp({ name: 'squeeze', inputs: [x], outputs: [out], backward: ([g]) => [reshape(g, x.shape)] });
  return out;
}

/** Inserts a size-1 dim at `dim` (which may be `rank`, or negative). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim(dim, x.rank + 1);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.rank ? x.strides[d] * x.shape[d] : 1);
  const out = makeView(x, shape, strides, x.offset);
  recordOp({ name: 'unsqueeze', inputs: [x], outputs: [out], backward: ([g]) => [reshape(g, x.shape)] });
  return out;
}

/** Reorders dims: `out.shape[i] = x.shape[dims[i]]`. */
export function permute(x: Tensor, ...dims: (number | readonly number[])[]): Tensor {
  const order = shapeArgs(dims).map((d) => normalizeDim(d, x.rank));
  if (order.length !== x.rank || new Set(order).size !== x.rank) {
    throw new ShapeError(`permute needs a permutation of ${x.rank} dims, got ${formatShape(shapeArgs(dims))}`);
  }
  const out = makeView(
    x,
    order.map((d) => x.shape[d]),
    order.map((d) => x.strides[d]),
    x.offset,
  );
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => {
    inverse[d] = i;
  });
  recordOp({ name: 'permute', inputs: [x], outputs: [out], backward: ([g]) => [permute(g, inverse)] });
  return out;
}

/** Swaps two dims. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  if (x.rank === 0) return makeIdentityView(x);
  const a = normalizeDim(dim0, x.rank);
  const b = normalizeDim(dim1, x.rank);
  const order = x.shape.map((_, i) => i);
  order[a] = b;
  order[b] = a;
  return permute(x, order);
}

/** Transpose of a matrix (rank <= 2), like `torch.t`. */
export function t(x: Tensor): Tensor {
  if (x.rank > 2) throw new ShapeError(`t() expects a tensor with <= 2 dims, got shape ${formatShape(x.shape)}; use transpose(dim0, dim1)`);
  return x.rank < 2
    ? permute(
        x,
        x.shape.map((_, i) => i),
      )
    : transpose(x, 0, 1);
}

/**
 * Broadcasts size-1 dims to larger sizes without copying (stride 0); -1 keeps a size;
 * new leading dims may be added.
 */
export function expand(x: Tensor, ...shape: (number | readonly number[])[]): Tensor {
  const target = shapeArgs(shape);
  if (target.length < x.rank) {
    throw new ShapeError(`expand: the target shape ${formatShape(target)} has fewer dims than the input ${formatShape(x.shape)}`);
  }
  const lead = target.length - x.rank;
  const outShape: number[] = [];
  const strides: number[] = [];
  target.forEach((size, i) => {
    const j = i - lead;
    const cur = j >= 0 ? x.shape[j] : 1;
    const want = size === -1 ? cur : size;
    if (j < 0 && size === -1) throw new ShapeError(`expand: -1 is not allowed for the new leading dim ${i}`);
    if (cur !== want && cur !== 1) {
      throw new ShapeError(
        `expand: size ${cur} of input dim ${j} (shape ${formatShape(x.shape)}) must be 1 to expand to ${want} (target ${formatShape(target)})`,
      );
    }
    outShape.push(want);
    strides.push(j >= 0 && cur === want ? x.strides[j] : 0);
  });
  checkSizes('expand', outShape);
  if (shapesEqual(outShape, x.shape)) return makeIdentityView(x);
  const out = makeView(x, outShape, strides, x.offset);
  recordOp({ name: 'expand', inputs: [x], outputs: [out], backward: ([g]) => [sumToShape(g, x.shape)] });
  return out;
}

/** `expand` to `shape` (PyTorch's `broadcast_to`). */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  return expand(x, shape);
}

function makeIdentityView(x: Tensor): Tensor {
  const out = makeView(x, x.shape, x.strides, x.offset);
  recordOp({ name: 'alias', inputs: [x], outputs: [out], backward: ([g]) => [g] });
  return out;
}

/**
 * Sums `g` down to `shape` (undoing broadcasting): sums the leading extra dims and every dim
 * where `shape` has size 1. Used by every gradient rule of a broadcasting op.
 */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const summed = dims.length > 0 ? sum(g, dims, true) : g;
  const out = reshape(summed, shape);
  if (summed !== g) summed.dispose();
  return out;
}

/**
 * Elements `start, start+step, ...` below `end` along `dim` (Python slicing; negative
 * start/end count from the end and are clamped). A view.
 */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  const d = normalizeDim(dim, x.rank);
  const n = x.shape[d];
  if (!Number.isInteger(step) || step <= 0) throw new ShapeError(`slice step must be a positive integer, got ${step}`);
  const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = clampIdx(start);
  const e = Math.max(clampIdx(end ?? n), s);
  const len = Math.ceil((e - s) / step);
  const shape = [...x.shape];
  shape[d] = len;
  const strides = [...x.strides];
  strides[d] = x.strides[d] * step;
  const out = makeView(x, shape, strides, x.offset + s * x.strides[d]);
  recordOp({
    name: 'slice',
    inputs: [x],
    outputs: [out],
    backward: ([g]) => [sliceBackward(g, x.shape, d, s, len, step)],
  });
  return out;
}

function sliceBackward(g: Tensor, inputShape: Shape, dim: number, start: number, len: number, step: number): Tensor {
  const n = inputShape[dim];
  if (step === 1) {
    const parts: Tensor[] = [];
    const padShape = (size: number) => inputShape.map((v, i) => (i === dim ? size : v));
    if (start > 0) parts.push(zeros(padShape(start), { device: g.device }));
    parts.push(g);
    if (n - start - len > 0) parts.push(zeros(padShape(n - start - len), { device: g.device }));
    return parts.length === 1 ? g : cat(parts, dim);
  }
  const idxShape = g.shape.map((_, i) => (i === dim ? len : 1));
  const index = expand(reshape(arange(start, start + len * step, step, { dtype: 'int32', device: g.device }), idxShape), g.shape);
  return scatter(zeros(inputShape, { device: g.device }), dim, index, g);
}

/** `length` elements of `dim` from `start` (`torch.narrow`). A view. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim(dim, x.rank);
  const s = start < 0 ? start + x.shape[d] : start;
  if (s < 0 || length < 0 || s + length > x.shape[d]) {
    throw new ShapeError(`narrow: start ${start} + length ${length} exceeds size ${x.shape[d]} of dim ${dim}`);
  }
  return slice(x, d, s, s + length);
}

/** The sub-tensor at `index` of `dim`, with that dim removed (`torch.select`). A view. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim(dim, x.rank);
  const n = x.shape[d];
  if (!Number.isInteger(index) || index < -n || index >= n) {
    throw new ShapeError(`select: index ${index} is out of range for dim ${dim} of size ${n}`);
  }
  const i = index < 0 ? index + n : index;
  const row = slice(x, d, i, i + 1);
  try {
    return squeeze(row, d);
  } finally {
    row.dispose();
  }
}

/** A contiguous tensor with the same values: `x` itself when already contiguous. */
export function contiguous(x: Tensor): Tensor {
  x.assertAlive();
  if (x.isContiguous) return x;
  return clone(x);
}

/** A contiguous copy that shares no data with `x` (differentiable, like `torch.clone`). */
export function clone(x: Tensor): Tensor {
  const backend = x.backend;
  const out = fromDataId(backend, backend.kernels.unary(x.kernelInput(), { op: 'identity' }), x.shape, x.dtype);
  recordOp({ name: 'clone', inputs: [x], outputs: [out], backward: ([g]) => [g] });
  return out;
}

/** A tensor sharing `x`'s data but outside the autograd graph (a new leaf). */
export function detach(x: Tensor): Tensor {
  x.assertAlive();
  return shareData(x);
}
