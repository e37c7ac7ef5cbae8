/** Creating tensors from values and from shapes. */
import type { Backend } from '../backend/backend.js';
import { findBackend, getBackend } from '../backend/registry.js';
import { type DType, type TypedArray, allocArray, dtypeOfArray, isDType } from '../dtype.js';
import { checkAllocation } from '../allocation.js';
import { DTypeError, GhostFlowError, ShapeError } from '../errors.js';
import { formatShape, sizeOf } from '../shape.js';
import { uploadTensor } from '../tensor/make.js';
import type { NestedArray, Tensor } from '../tensor/tensor.js';
import { constant } from './elementwise.js';

/** Where and how to create a tensor. */
export interface CreationOptions {
  /** Element type; default float32 (bool for boolean input, the array's type for typed arrays). */
  dtype?: DType;
  /** Backend name; default the active backend. */
  device?: string;
  /** Make the new tensor a leaf that requires grad. */
  requiresGrad?: boolean;
}

/** `tensor` options: also a shape, to give a flat array one. */
export interface TensorOptions extends CreationOptions {
  /** Shape for flat data (default: inferred from nesting, or [length] for a typed array). */
  shape?: readonly number[];
}

/** The backend `options.device` names, else the active one. */
function creationBackend(options: CreationOptions | undefined): Backend {
  return options?.device !== undefined ? findBackend(options.device) : getBackend();
}

function checkDType(dtype: DType | undefined, fallback: DType): DType {
  if (dtype === undefined) return fallback;
  if (!isDType(dtype)) throw new DTypeError(`unknown dtype '${String(dtype)}' (expected float32, int32 or bool)`);
  return dtype;
}

function finish(t: Tensor, options: CreationOptions | undefined): Tensor {
  if (options?.requiresGrad) {
    try {
      t.requiresGrad = true;
    } catch (e) {
      t.dispose();
      throw e;
    }
  }
  return t;
}

/**
 * Converts host numbers to the storage of `dtype`. int32 rejects non-integers (and values
 * outside int32) rather than silently truncating; bool stores `x != 0`.
 */
function toStorage(values: ArrayLike<number>, dtype: DType, what: string): TypedArray {
  const out = allocArray(dtype, values.length);
  if (dtype === 'int32') {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isInteger(v) || v > 2147483647 || v < -2147483648) {
        throw new DTypeError(
          `${what}: dtype int32 needs integer values in the int32 range, got ${v} at flat index ${i}; round the values or use float32`,
        );
      }
      out[i] = v;
    }
  } else if (dtype === 'bool') {
    for (let i = 0; i < values.length; i++) out[i] = values[i] !== 0 ? 1 : 0;
  } else {
    for (let i = 0; i < values.length; i++) out[i] = values[i];
  }
  return out;
}

/** Walks nested arrays: shape (checked rectangular), flat values, and whether all leaves are booleans. */
function flattenNested(values: NestedArray<number | boolean>): { shape: number[]; flat: number[]; allBool: boolean } {
  const shape: number[] = [];
  for (let cur: unknown = values; Array.isArray(cur); cur = cur[0]) {
    shape.push(cur.length);
    if (cur.length === 0) break;
  }
  const flat: number[] = [];
  let allBool = true;
  let sawLeaf = false;
  const walk = (v: unknown, depth: number, path: number[]): void => {
    if (depth < shape.length) {
      if (!Array.isArray(v) || v.length !== shape[depth]) {
        const got = Array.isArray(v) ? `length ${v.length}` : `a ${typeof v}`;
        throw new ShapeError(
          `tensor(): ragged nested array: expected length ${shape[depth]} at dim ${depth} (element [${path.join('][')}]), got ${got}; every row must have the same length`,
        );
      }
      for (let i = 0; i < v.length; i++) {
        // A hole (`[1, , 3]`) is not a value: forEach would skip it and shift every later one.
        if (!(i in v)) {
          throw new DTypeError(`tensor(): element [${[...path, i].join('][')}] is a hole in a sparse array; expected a number or boolean`);
        }
        walk(v[i], depth + 1, [...path, i]);
      }
      return;
    }
    if (Array.isArray(v)) {
      throw new ShapeError(
        `tensor(): ragged nested array: element [${path.join('][')}] is an array where a number was expected (shape so far ${formatShape(shape)})`,
      );
    }
    sawLeaf = true;
    if (typeof v === 'boolean') flat.push(v ? 1 : 0);
    else if (typeof v === 'number') {
      allBool = false;
      flat.push(v);
    } else throw new DTypeError(`tensor(): expected numbers or booleans, got ${typeof v} at element [${path.join('][')}]`);
  };
  walk(values, 0, []);
  return { shape, flat, allBool: allBool && sawLeaf };
}

/**
 * A tensor from nested arrays (checked to be rectangular), a typed array, a number or a
 * boolean (0-d). Default dtype: float32 for numbers, bool for booleans, the array's own
 * dtype for Float32Array/Int32Array/Uint8Array (Uint8Array is bool). `shape` reshapes
 * flat data. Non-integer values with dtype int32 throw a DTypeError.
 *
 * @example
 * ```ts
 * import { tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * const x = tensor([
 *   [1, 2],
 *   [3, 4],
 * ]); // float32, shape [2, 2]
 * const ids = tensor([0, 2, 1], { dtype: 'int32' });
 * const w = tensor([0.5, -0.5], { requiresGrad: true });
 * console.log(x.shape, ids.dtype, w.requiresGrad); // [2, 2] 'int32' true
 * ```
 */
export function tensor(
  values: NestedArray<number | boolean> | ArrayLike<number> | Float32Array | Int32Array | Uint8Array,
  options?: TensorOptions,
): Tensor {
  let shape: number[];
  let flat: ArrayLike<number>;
  let natural: DType;
  if (typeof values === 'number' || typeof values === 'boolean') {
    shape = [];
    flat = [Number(values)];
    natural = typeof values === 'boolean' ? 'bool' : 'float32';
  } else if (Array.isArray(values)) {
    const nested = flattenNested(values as NestedArray<number | boolean>);
    shape = nested.shape;
    flat = nested.flat;
    natural = nested.allBool ? 'bool' : 'float32';
  } else if (ArrayBuffer.isView(values)) {
    shape = [values.length];
    flat = values;
    natural = dtypeOfArray(values) ?? 'float32';
  } else if (values !== null && typeof values === 'object' && typeof (values as ArrayLike<number>).length === 'number') {
    shape = [(values as ArrayLike<number>).length];
    flat = values as ArrayLike<number>;
    natural = 'float32';
  } else {
    throw new DTypeError(
      `tensor(): expected a number, boolean, nested array or typed array, got ${values === null ? 'null' : typeof values}`,
    );
  }
  if (options?.shape) {
    checkAllocation('tensor()', options.shape, options.dtype ?? natural);
    if (sizeOf(options.shape) !== flat.length) {
      throw new ShapeError(
        `tensor(): shape ${formatShape(options.shape)} needs ${sizeOf(options.shape)} values, got ${flat.length} (shape ${formatShape(shape)})`,
      );
    }
    shape = [...options.shape];
  }
  const dtype = checkDType(options?.dtype, natural);
  const backend = creationBackend(options);
  return finish(uploadTensor(backend, toStorage(flat, dtype, 'tensor()'), shape, dtype), options);
}

/** A 0-d tensor (float32 for a number, bool for a boolean unless `dtype` says otherwise). */
export function scalar(value: number | boolean, options?: CreationOptions): Tensor {
  return full([], value, options);
}

function checkFillValue(value: number | boolean, dtype: DType, what: string): void {
  if (dtype === 'int32' && typeof value === 'number' && (!Number.isInteger(value) || value > 2147483647 || value < -2147483648)) {
    throw new DTypeError(`${what}: dtype int32 needs an integer value in the int32 range, got ${value}`);
  }
}

/**
 * Zeros of `shape` (float32 unless `dtype` says otherwise).
 *
 * @example
 * ```ts
 * import { zeros } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * const h0 = zeros([2, 3, 16]); // float32 zeros
 * const counts = zeros([10], { dtype: 'int32' });
 * ```
 */
export function zeros(shape: readonly number[], options?: CreationOptions): Tensor {
  return full(shape, 0, options);
}

/** Ones of `shape` (float32 unless `dtype` says otherwise). */
export function ones(shape: readonly number[], options?: CreationOptions): Tensor {
  return full(shape, 1, options);
}

/**
 * `shape` filled with `value`, through the backend's `fill` kernel (no upload). Default
 * dtype float32, bool for a boolean value; a fractional value with dtype int32 throws.
 */
export function full(shape: readonly number[], value: number | boolean, options?: CreationOptions): Tensor {
  const dtype = checkDType(options?.dtype, typeof value === 'boolean' ? 'bool' : 'float32');
  checkAllocation('full()', shape, dtype);
  checkFillValue(value, dtype, 'full()');
  return finish(constant(creationBackend(options), [...shape], dtype, value), options);
}

/**
 * `start, start + step, ...` below `end` (`arange(end)` starts at 0), length
 * `ceil((end - start) / step)` as in PyTorch. Default dtype float32; int32 needs integer
 * arguments.
 */
export function arange(end: number, options?: CreationOptions): Tensor;
export function arange(start: number, end?: number, step?: number, options?: CreationOptions): Tensor;
export function arange(start: number, endOrOptions?: number | CreationOptions, stepArg = 1, optionsArg?: CreationOptions): Tensor {
  // `arange(end, options)`, like torch.arange(end, dtype=...).
  const shortForm = typeof endOrOptions === 'object';
  const end = shortForm ? undefined : endOrOptions;
  const step = shortForm ? 1 : stepArg;
  const options = shortForm ? endOrOptions : optionsArg;
  const from = end === undefined ? 0 : start;
  const to = end === undefined ? start : end;
  if (!Number.isFinite(from) || !Number.isFinite(to) || !Number.isFinite(step)) {
    throw new GhostFlowError(`arange(): start, end and step must be finite, got ${from}, ${to}, ${step}`);
  }
  if (step === 0) throw new GhostFlowError('arange(): step must be nonzero');
  if ((to - from) * step < 0) {
    throw new GhostFlowError(`arange(): the sign of step ${step} does not lead from start ${from} to end ${to}`);
  }
  const dtype = checkDType(options?.dtype, 'float32');
  if (dtype === 'int32' && ![from, to, step].every(Number.isInteger)) {
    throw new DTypeError(`arange(): dtype int32 needs integer start, end and step, got ${from}, ${to}, ${step}`);
  }
  const n = Math.max(0, Math.ceil((to - from) / step));
  checkAllocation('arange()', [n], dtype);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = from + i * step;
  return finish(uploadTensor(creationBackend(options), toStorage(values, dtype, 'arange()'), [n], dtype), options);
}

/**
 * `steps` evenly spaced values from `start` to `end` inclusive. Uses PyTorch's symmetric
 * formula (the first half counts up from `start`, the second half down from `end`), so both
 * ends are exact.
 */
export function linspace(start: number, end: number, steps: number, options?: CreationOptions): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new GhostFlowError(`linspace(): steps must be a non-negative integer, got ${steps}`);
  const dtype = checkDType(options?.dtype, 'float32');
  checkAllocation('linspace()', [steps], dtype);
  const values = new Float64Array(steps);
  if (steps === 1) values[0] = start;
  else if (steps > 1) {
    const step = (end - start) / (steps - 1);
    const half = Math.floor(steps / 2);
    for (let i = 0; i < steps; i++) values[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
  }
  return finish(uploadTensor(creationBackend(options), toStorage(values, dtype, 'linspace()'), [steps], dtype), options);
}

/** `n x m` identity matrix (m defaults to n); float32 unless `dtype` says otherwise. */
export function eye(n: number, m?: number, options?: CreationOptions): Tensor {
  const cols = m ?? n;
  const dtype = checkDType(options?.dtype, 'float32');
  checkAllocation('eye()', [n, cols], dtype);
  const values = allocArray(dtype, n * cols);
  for (let i = 0; i < Math.min(n, cols); i++) values[i * cols + i] = 1;
  return finish(uploadTensor(creationBackend(options), values, [n, cols], dtype), options);
}

/** Options of the `*Like` functions: defaults come from the model tensor. */
function likeOptions(x: Tensor, options: CreationOptions | undefined): CreationOptions {
  x.assertAlive();
  return { dtype: options?.dtype ?? x.dtype, device: options?.device ?? x.device, requiresGrad: options?.requiresGrad };
}

/** Zeros with `x`'s shape, dtype and device (overridable). */
export function zerosLike(x: Tensor, options?: CreationOptions): Tensor {
  return full(x.shape, 0, likeOptions(x, options));
}

/** Ones with `x`'s shape, dtype and device (overridable). */
export function onesLike(x: Tensor, options?: CreationOptions): Tensor {
  return full(x.shape, 1, likeOptions(x, options));
}

/** `value` with `x`'s shape, dtype and device (overridable). */
export function fullLike(x: Tensor, value: number | boolean, options?: CreationOptions): Tensor {
  return full(x.shape, value, likeOptions(x, options));
}
