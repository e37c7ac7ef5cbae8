/** One-hot encoding (`torch.nn.functional.one_hot`). */
import { DTypeError, GhostFlowError, ShapeError } from '../errors.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { eq } from './binary.js';
import { arange } from './creation.js';
import { cast } from './unary.js';
import { unsqueeze } from './view.js';

/**
 * One-hot encoding: int32 `indices` of shape `S` give an int32 tensor of shape
 * `[...S, numClasses]` with a 1 at each index and 0 elsewhere.
 *
 * When `numClasses` is omitted (or -1) it is `max(indices) + 1`, which needs the values:
 * allowed only on backends that read synchronously (`readSync`); elsewhere pass it.
 * Indices are checked to lie in `[0, numClasses)` on those backends too; on asynchronous
 * backends an out-of-range index gives an all-zero row (the comparison never matches),
 * and no error, to avoid a device round trip.
 * @param indices int32 class indices
 * @param numClasses the number of classes (default: inferred, see above)
 */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  indices.assertAlive();
  if (indices.dtype !== 'int32') {
    throw new DTypeError(`oneHot: expected int32 class indices, got dtype ${indices.dtype}; convert them with indices.int()`);
  }
  if (!Number.isInteger(numClasses) || numClasses < -1) {
    throw new ShapeError(`oneHot: numClasses must be a non-negative integer (or -1 to infer it), got ${numClasses}`);
  }
  const backend = indices.backend;
  let classes = numClasses;
  if (backend.readSync) {
    const values = indices.dataSync();
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < values.length; i++) {
      lo = Math.min(lo, values[i]);
      hi = Math.max(hi, values[i]);
    }
    if (classes === -1) {
      if (values.length === 0)
        throw new ShapeError(
          `oneHot: cannot infer the number of classes from an empty tensor (shape ${formatShape(indices.shape)}); pass numClasses`,
        );
      classes = hi + 1;
    }
    if (lo < 0) throw new ShapeError(`oneHot: class values must be non-negative, got ${lo}`);
    if (values.length > 0 && hi >= classes) throw new ShapeError(`oneHot: class value ${hi} is out of range for numClasses ${classes}`);
  } else if (classes === -1) {
    throw new GhostFlowError(
      `oneHot: backend '${backend.name}' cannot read values synchronously, so the number of classes cannot be inferred; pass numClasses explicitly`,
    );
  }
  // Compare each index (a trailing size-1 dim) with 0..C-1 (broadcast): true exactly at the class.
  const col = unsqueeze(indices, -1);
  const range = arange(0, classes, 1, { dtype: 'int32', device: indices.device });
  const hits = eq(col, range);
  const out = cast(hits, 'int32');
  for (const t of [col, range, hits]) t.dispose();
  return out;
}
