/**
 * The one place core checks that a tensor about to be allocated can exist: sizes that are
 * non-negative safe integers, and an element count every backend can address. Creation ops
 * and the shared upload/fill paths call it before any memory is asked for, so a huge shape
 * fails with a GhostFlowError naming the op, the shape and the bytes, never a bare
 * RangeError from deep inside a typed-array constructor.
 */
import { type DType, bytesPerElement } from './dtype.js';
import { GhostFlowError, ShapeError } from './errors.js';
import { type Shape, checkSizes, formatShape, sizeOf } from './shape.js';

/**
 * Most elements one tensor may hold: 2^32. JavaScript engines cap a typed array's length
 * there, WGSL indexes buffers with u32, and wasm32 memories stop at 4 GiB, so a larger
 * tensor cannot be stored by any GhostFlow backend.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 32;

/**
 * Checks that every size of `shape` is a non-negative integer below 2^53 and that the
 * tensor's elements fit {@link MAX_TENSOR_ELEMENTS}; `op` names the caller in the message
 * (e.g. `'zeros()'`). Returns the element count.
 */
export function checkAllocation(op: string, shape: Shape, dtype: DType): number {
  if (!Array.isArray(shape)) throw new ShapeError(`${op}: shape must be an array of sizes, got ${typeof shape}`);
  checkSizes(op, shape);
  const numel = sizeOf(shape);
  if (numel > MAX_TENSOR_ELEMENTS)
    throw tooLarge(op, shape, dtype, numel, `more than the ${MAX_TENSOR_ELEMENTS} elements a tensor may hold`);
  return numel;
}

/**
 * Runs `allocate` (a backend upload or kernel that makes a tensor of `shape`), turning an
 * engine's allocation failure (RangeError: out of memory, length too large) into a
 * GhostFlowError naming `op`, the shape and the bytes asked for.
 */
export function allocating<T>(op: string, shape: Shape, dtype: DType, allocate: () => T): T {
  try {
    return allocate();
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    let numel = 1;
    for (const d of shape) numel *= d;
    throw tooLarge(op, shape, dtype, numel, `the allocation failed (${e.message})`);
  }
}

function tooLarge(op: string, shape: Shape, dtype: DType, numel: number, why: string): GhostFlowError {
  const bytes = numel * bytesPerElement(dtype);
  return new GhostFlowError(
    `${op}: cannot allocate a ${dtype} tensor of shape ${formatShape(shape)} (${numel} elements, ${bytes} bytes): ${why}`,
  );
}
