/**
 * Reductions over dims, with keepdim, PyTorch semantics.
 *
 * `dim` may be one dim, a list, or undefined (= every dim); an empty list also means every
 * dim, as in PyTorch 1.x. Negative dims count from the end. Each op runs one `reduce` (or
 * `argReduce`) kernel, or composes a few core ops without recording, and then records a
 * single node whose gradient rule expands the output gradient back over the reduced dims.
 */
import { withGradMode } from '../autograd/grad-mode.js';
import { recordOp } from '../autograd/record.js';
import type { ReduceOp } from '../backend/kernels.js';
import type { DType } from '../dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { type Shape, formatShape, normalizeDim, normalizeDims, reducedShape } from '../shape.js';
import { fromDataId } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, div, eq, logicalAnd, mul, sub } from './binary.js';
import { zeros } from './creation.js';
import { castUnrecorded } from './elementwise.js';
import { scatter } from './indexing.js';
import { where } from './select.js';
import { abs, cast, exp, log, sqrt } from './unary.js';
import { expand, reshape } from './view.js';

/** Dims to reduce: one, several, or all (undefined, or an empty list). */
export type Dims = number | readonly number[] | undefined;

/** Values and int32 indices, as max/min along a dim return. */
export interface ValuesIndices {
  /** The extreme values. */
  values: Tensor;
  /** Their positions along the dim (int32). */
  indices: Tensor;
}

/** The sorted, non-negative axes `dim` names on `x` (a 0-d tensor accepts dim 0/-1 and reduces nothing). */
function reductionAxes(x: Tensor, dim: Dims): number[] {
  x.assertAlive();
  if (dim === undefined || (typeof dim !== 'number' && dim.length === 0)) return x.shape.map((_, i) => i);
  // normalizeDims treats rank 0 like rank 1 (PyTorch lets a scalar be reduced over dim 0).
  return normalizeDims(dim, x.rank).filter((a) => a < x.rank);
}

/** Runs the `reduce` kernel (never recorded); the output gets size-1 dims back when keepdim. */
function runReduce(x: Tensor, op: ReduceOp, axes: readonly number[], keepdim: boolean): Tensor {
  const backend = x.backend;
  const dataId = backend.kernels.reduce(x.kernelInput(), { op, axes });
  const dtype: DType = op === 'any' || op === 'all' ? 'bool' : x.dtype;
  // The kernel's output is contiguous, so inserting size-1 dims is just another shape.
  return fromDataId(backend, dataId, reducedShape(x.shape, axes, keepdim), dtype);
}

/** Runs `fn` on `x` converted to `dtype` (a temporary, freed afterwards). */
function withDType<T>(x: Tensor, dtype: DType, fn: (t: Tensor) => T): T {
  if (x.dtype === dtype) return fn(x);
  const converted = castUnrecorded(x, dtype);
  try {
    return fn(converted);
  } finally {
    converted.dispose();
  }
}

/** Composes core ops without recording them and frees the intermediates (the op records itself). */
function unrecorded(fn: () => Tensor): Tensor {
  return withGradMode(false, () => tidy(fn));
}

/** Number of elements reduced into each output element. */
function reducedCount(shape: Shape, axes: readonly number[]): number {
  return axes.reduce((n, a) => n * shape[a], 1);
}

/**
 * The gradient of a reduction's output (shape with or without keepdim) broadcast back to
 * the input's shape: re-insert the reduced dims as size 1, then expand (no copy).
 */
function restoreReduced(g: Tensor, shape: Shape, axes: readonly number[]): Tensor {
  return expand(reshape(g, reducedShape(shape, axes, true)), shape);
}

function requireFloat(name: string, x: Tensor, hint: string): void {
  if (x.dtype !== 'float32') {
    throw new DTypeError(`${name}(): expected a float32 input, got ${x.dtype}; ${hint}`);
  }
}

/** Throws like PyTorch when an op without an identity (max, min) reduces an empty dim. */
function requireNonEmpty(name: string, x: Tensor, axes: readonly number[]): void {
  for (const a of axes) {
    if (x.shape[a] === 0) {
      throw new ShapeError(
        `${name}(): cannot reduce over dim ${a} of size 0 (input shape ${formatShape(x.shape)}): the operation has no identity`,
      );
    }
  }
}

/**
 * Sum over `dim` (`torch.sum`). bool and int32 inputs sum to int32 (PyTorch's int64).
 * Gradient: the output gradient broadcast over the reduced dims.
 * @param x the input
 * @param dim dims to reduce (all when undefined)
 * @param keepdim keep reduced dims as size 1
 *
 * @example
 * ```ts
 * import { sum, tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * const x = tensor([
 *   [1, 2, 3],
 *   [4, 5, 6],
 * ]);
 * console.log(sum(x).itemSync()); // 21
 * console.log(sum(x, 1).arraySync()); // [6, 15]
 * console.log(sum(x, 0, true).shape); // [1, 3]
 * ```
 */
export function sum(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const axes = reductionAxes(x, dim);
  // The kernel keeps the input dtype and takes no bool, so bool counts are summed as int32.
  if (x.dtype === 'bool') return withDType(x, 'int32', (t) => runReduce(t, 'sum', axes, keepdim));
  const out = runReduce(x, 'sum', axes, keepdim);
  const shape = x.shape;
  recordOp({ name: 'sum', inputs: [x], outputs: [out], backward: ([g]) => [restoreReduced(g, shape, axes)] });
  return out;
}

/**
 * Mean over `dim` (`torch.mean`). float32 only: like PyTorch, an integer or bool input is an
 * error rather than silently promoted. The mean over an empty dim is NaN.
 * @param x the input (float32)
 * @param dim dims to reduce (all when undefined)
 * @param keepdim keep reduced dims as size 1
 */
export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const axes = reductionAxes(x, dim);
  requireFloat('mean', x, 'mean cannot infer an output dtype for integer input; cast with .float() first');
  const n = reducedCount(x.shape, axes);
  const out = unrecorded(() => div(runReduce(x, 'sum', axes, keepdim), n));
  const shape = x.shape;
  recordOp({ name: 'mean', inputs: [x], outputs: [out], backward: ([g]) => [restoreReduced(div(g, n), shape, axes)] });
  return out;
}

/**
 * Product over `dim` (`torch.prod`); bool input gives int32. Gradient: the product of the
 * *other* elements, computed so that zeros are handled exactly (no division by zero): with
 * no zero in a slice it is `prod / x`, with one zero only that position gets the product of
 * the rest, with two or more every gradient is zero.
 * @param x the input
 * @param dim dims to reduce (all when undefined)
 * @param keepdim keep reduced dims as size 1
 */
export function prod(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const axes = reductionAxes(x, dim);
  if (x.dtype === 'bool') return withDType(x, 'int32', (t) => runReduce(t, 'prod', axes, keepdim));
  const out = runReduce(x, 'prod', axes, keepdim);
  const shape = x.shape;
  recordOp({
    name: 'prod',
    inputs: [x],
    outputs: [out],
    save: [x],
    backward: ([g], [xs]) => [mul(restoreReduced(g, shape, axes), productOfOthers(xs, axes))],
  });
  return out;
}

/** For each element, the product of the other elements of its reduced slice (see {@link prod}). */
function productOfOthers(x: Tensor, axes: readonly number[]): Tensor {
  const isZero = eq(x, 0);
  const zeroCount = sum(isZero, axes, true);
  const nonzero = where(isZero, 1, x);
  // Product of the non-zero elements: a differentiable op, so double backward works too.
  const prodNonzero = prod(nonzero, axes, true);
  const noZero = div(prodNonzero, nonzero);
  const onlyZeroHere = where(logicalAnd(isZero, eq(zeroCount, 1)), prodNonzero, 0);
  return where(eq(zeroCount, 0), noZero, onlyZeroHere);
}

/**
 * Gradient of amax/amin and full max/min: the output gradient split evenly among the
 * elements equal to the result (PyTorch's `scale_grad_by_count`). Written as
 * `g / count * mask` rather than a `where` so that a NaN result (no element equals it)
 * gives a NaN gradient over its slice, exactly like PyTorch.
 */
function evenlySplit(g: Tensor, x: Tensor, result: Tensor, shape: Shape, axes: readonly number[]): Tensor {
  const mask = eq(x, restoreReduced(result, shape, axes));
  const count = sum(mask, axes, true);
  return mul(div(restoreReduced(g, shape, axes), count), cast(mask, 'float32'));
}

function extremum(name: string, op: 'max' | 'min', x: Tensor, dim: Dims, keepdim: boolean): Tensor {
  const axes = reductionAxes(x, dim);
  requireNonEmpty(name, x, axes);
  // bool has no max/min kernel; on {0, 1} they are any/all.
  if (x.dtype === 'bool') return runReduce(x, op === 'max' ? 'any' : 'all', axes, keepdim);
  const out = runReduce(x, op, axes, keepdim);
  const shape = x.shape;
  recordOp({
    name,
    inputs: [x],
    outputs: [out],
    save: [x, out],
    backward: ([g], [xs, ys]) => [evenlySplit(g, xs, ys, shape, axes)],
  });
  return out;
}

/**
 * Max over `dim`, values only (`torch.amax`); NaN propagates. Gradient split evenly among
 * ties. Reducing a dim of size 0 is an error (max has no identity).
 * @param x the input
 * @param dim dims to reduce (all when undefined)
 * @param keepdim keep reduced dims as size 1
 */
export function amax(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  return extremum('amax', 'max', x, dim, keepdim);
}

/**
 * Min over `dim`, values only (`torch.amin`); NaN propagates. Gradient split evenly among ties.
 * @param x the input
 * @param dim dims to reduce (all when undefined)
 * @param keepdim keep reduced dims as size 1
 */
export function amin(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  return extremum('amin', 'min', x, dim, keepdim);
}

/**
 * Extreme values along one dim with their indices (first occurrence on ties; NaN wins).
 * The gradient goes to the returned index only, like PyTorch's `max.dim`.
 */
function extremumAlong(name: string, op: 'max' | 'min', x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  x.assertAlive();
  const axis = normalizeDim(dim, x.rank);
  // A 0-d tensor is reduced as a 1-element vector; results stay 0-d (keepdim adds no dim).
  const src = x.rank === 0 ? reshape(x, [1]) : x;
  try {
    requireNonEmpty(name, src, [axis]);
    const outShape = x.rank === 0 ? [] : reducedShape(src.shape, [axis], keepdim);
    const backend = src.backend;
    // The kernels take float32/int32: bool is handled as int32 and the values cast back.
    const computed = withDType(src, src.dtype === 'bool' ? 'int32' : src.dtype, (t) => {
      const v = fromDataId(backend, backend.kernels.reduce(t.kernelInput(), { op, axes: [axis] }), outShape, t.dtype);
      const i = fromDataId(
        backend,
        backend.kernels.argReduce(t.kernelInput(), { op: op === 'max' ? 'argmax' : 'argmin', axis }),
        outShape,
        'int32',
      );
      return { v, i };
    });
    let values = computed.v;
    if (src.dtype === 'bool') {
      const asBool = castUnrecorded(values, 'bool');
      values.dispose();
      values = asBool;
    }
    const indices = computed.i;
    const srcShape = src.shape;
    const keepShape = reducedShape(srcShape, [axis], true);
    recordOp({
      name,
      inputs: [src],
      outputs: [values],
      save: [indices],
      backward: ([g], [idx]) => [scatter(zeros(srcShape, { device: g.device }), axis, reshape(idx, keepShape), reshape(g, keepShape))],
    });
    return { values, indices };
  } finally {
    if (src !== x) src.dispose();
  }
}

/**
 * `torch.max`: with no `dim`, the max of all elements as a 0-d tensor (gradient split
 * evenly among ties); with `dim`, `{ values, indices }` along it (gradient to the index).
 * NaN propagates; an empty input (or dim) is an error.
 * @param x the input
 */
export function max(x: Tensor): Tensor;
/**
 * `torch.max(x, dim)`: `{ values, indices }` along `dim` (gradient to the index).
 * @param x the input
 * @param dim the dim to reduce (may be negative)
 * @param keepdim keep the reduced dim as size 1
 */
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  if (dim === undefined) return extremum('max', 'max', x, undefined, false);
  return extremumAlong('max', 'max', x, dim, keepdim);
}

/**
 * `torch.min`: with no `dim`, the min of all elements as a 0-d tensor; with `dim`,
 * `{ values, indices }` along it. See {@link max}.
 * @param x the input
 */
export function min(x: Tensor): Tensor;
/**
 * `torch.min(x, dim)`: `{ values, indices }` along `dim` (gradient to the index).
 * @param x the input
 * @param dim the dim to reduce (may be negative)
 * @param keepdim keep the reduced dim as size 1
 */
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  if (dim === undefined) return extremum('min', 'min', x, undefined, false);
  return extremumAlong('min', 'min', x, dim, keepdim);
}

function argExtremum(name: string, op: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  x.assertAlive();
  // Over the flattened tensor when dim is undefined; keepdim then gives all-ones dims (PyTorch).
  const flat = dim === undefined;
  const axis = flat ? 0 : normalizeDim(dim, x.rank);
  const outShape = flat ? (keepdim ? x.shape.map(() => 1) : []) : x.rank === 0 ? [] : reducedShape(x.shape, [axis], keepdim);
  // Indices are not differentiable: reshape without recording.
  const src = withGradMode(false, () => (flat || x.rank === 0 ? reshape(x, [x.size]) : x));
  try {
    requireNonEmpty(name, src, [axis]);
    const backend = src.backend;
    return withDType(src, src.dtype === 'bool' ? 'int32' : src.dtype, (t) =>
      fromDataId(backend, backend.kernels.argReduce(t.kernelInput(), { op, axis }), outShape, 'int32'),
    );
  } finally {
    if (src !== x) src.dispose();
  }
}

/**
 * Index of the max (`torch.argmax`), int32; over the flattened tensor when `dim` is
 * undefined. Ties give the first occurrence; NaN counts as the max.
 * @param x the input
 * @param dim the dim to reduce (flattened when undefined)
 * @param keepdim keep the reduced dim(s) as size 1
 */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtremum('argmax', 'argmax', x, dim, keepdim);
}

/**
 * Index of the min (`torch.argmin`), int32; see {@link argmax}.
 * @param x the input
 * @param dim the dim to reduce (flattened when undefined)
 * @param keepdim keep the reduced dim(s) as size 1
 */
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtremum('argmin', 'argmin', x, dim, keepdim);
}

/** Options for variance and std. */
export interface VarianceOptions {
  /** Dims to reduce (all when undefined). */
  dim?: Dims;
  /** Bessel correction: 1 (default, unbiased) or 0. */
  correction?: number;
  /** Keep reduced dims as size 1. */
  keepdim?: boolean;
}

interface VarianceSetup {
  axes: number[];
  keepdim: boolean;
  /** `max(0, N - correction)`, what the sum of squared deviations is divided by. */
  divisor: number;
}

function varianceSetup(name: string, x: Tensor, options: VarianceOptions): VarianceSetup {
  const axes = reductionAxes(x, options.dim);
  requireFloat(name, x, 'std and var only support floating-point input; cast with .float() first');
  const correction = options.correction ?? 1;
  // PyTorch divides by max(0, N - correction): too few elements give inf or NaN, not an error.
  return { axes, keepdim: options.keepdim ?? false, divisor: Math.max(0, reducedCount(x.shape, axes) - correction) };
}

/** `sum((x - mean)^2) / divisor`, two-pass, composed from core ops. */
function varianceOf(x: Tensor, s: VarianceSetup): Tensor {
  const deviation = sub(x, mean(x, s.axes, true));
  return div(sum(mul(deviation, deviation), s.axes, s.keepdim), s.divisor);
}

/** d var / dx = 2 (x - mean) / divisor, times the broadcast output gradient. */
function varianceBackward(g: Tensor, x: Tensor, s: VarianceSetup): Tensor {
  const deviation = sub(x, mean(x, s.axes, true));
  return mul(restoreReduced(g, x.shape, s.axes), div(mul(deviation, 2), s.divisor));
}

/**
 * Variance over `dim` (`torch.var`) with Bessel's `correction` (default 1); float32 only.
 * @param x the input (float32)
 * @param options dims, correction, keepdim
 */
export function variance(x: Tensor, options: VarianceOptions = {}): Tensor {
  const s = varianceSetup('var', x, options);
  const out = unrecorded(() => varianceOf(x, s));
  recordOp({ name: 'var', inputs: [x], outputs: [out], save: [x], backward: ([g], [xs]) => [varianceBackward(g, xs, s)] });
  return out;
}

/**
 * Standard deviation over `dim` (`torch.std`) with Bessel's `correction` (default 1).
 * Where the result is 0 the gradient is 0 (PyTorch's convention, instead of NaN).
 * @param x the input (float32)
 * @param options dims, correction, keepdim
 */
export function std(x: Tensor, options: VarianceOptions = {}): Tensor {
  const s = varianceSetup('std', x, options);
  const out = unrecorded(() => sqrt(varianceOf(x, s)));
  recordOp({
    name: 'std',
    inputs: [x],
    outputs: [out],
    save: [x, out],
    backward: ([g], [xs, ys]) => {
      // d std = d var / (2 std); masked where std == 0 so constant slices get 0, not NaN.
      const gVar = where(eq(ys, 0), 0, div(g, mul(ys, 2)));
      return [varianceBackward(gVar, xs, s)];
    },
  });
  return out;
}

/**
 * `log(sum(exp(x)))` over `dim`, computed stably by shifting with the max (`torch.logsumexp`).
 * Slices that are all -inf give -inf (not NaN), an empty dim gives -inf, NaN propagates.
 * int32/bool input is promoted to float32. Gradient: `exp(x - out)` (the softmax).
 * @param x the input
 * @param dim dims to reduce (all when undefined)
 * @param keepdim keep reduced dims as size 1
 */
export function logsumexp(x: Tensor, dim: Dims, keepdim = false): Tensor {
  x.assertAlive();
  if (x.dtype !== 'float32') return withDType(x, 'float32', (t) => logsumexp(t, dim, keepdim));
  const axes = reductionAxes(x, dim);
  const shape = x.shape;
  const out = unrecorded(() => {
    // The max kernel gives -inf over an empty dim, where amax would throw.
    const m = runReduce(x, 'max', axes, true);
    // An infinite max would make x - m NaN; shifting by 0 there keeps -inf/inf exact.
    const shift = where(eq(abs(m), Number.POSITIVE_INFINITY), 0, m);
    const total = sum(exp(sub(x, shift)), axes, keepdim);
    return add(log(total), keepdim ? shift : reshape(shift, reducedShape(shape, axes, false)));
  });
  recordOp({
    name: 'logsumexp',
    inputs: [x],
    outputs: [out],
    save: [x, out],
    backward: ([g], [xs, ys]) => [mul(restoreReduced(g, shape, axes), exp(sub(xs, restoreReduced(ys, shape, axes))))],
  });
  return out;
}

/**
 * Whether any element is true (non-zero) over `dim` (`torch.any`); bool result.
 * @param x the input (any dtype; non-zero is true)
 * @param dim dims to reduce (all when undefined)
 * @param keepdim keep reduced dims as size 1
 */
export function any(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const axes = reductionAxes(x, dim);
  return withDType(x, 'bool', (t) => runReduce(t, 'any', axes, keepdim));
}

/**
 * Whether all elements are true (non-zero) over `dim` (`torch.all`); bool result.
 * @param x the input (any dtype; non-zero is true)
 * @param dim dims to reduce (all when undefined)
 * @param keepdim keep reduced dims as size 1
 */
export function all(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const axes = reductionAxes(x, dim);
  return withDType(x, 'bool', (t) => runReduce(t, 'all', axes, keepdim));
}
