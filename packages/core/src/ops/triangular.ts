/**
 * Lower and upper triangles of (batches of) matrices. The mask is built on the device from
 * two `arange`s compared against each other, so nothing is uploaded per element or read
 * back, and `where` supplies the gradient (the gradient is masked the same way).
 */
import { ShapeError } from '../errors.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ge, le, sub } from './binary.js';
import { arange, zeros } from './creation.js';
import { where } from './select.js';
import { reshape } from './view.js';

/** Keeps the elements where `keep(col - row)` holds on the last two dims, zeroing the rest. */
function triangle(op: string, x: Tensor, diagonal: number, lower: boolean): Tensor {
  x.assertAlive();
  if (x.rank < 2) throw new ShapeError(`${op}: input must have at least 2 dimensions, got shape ${formatShape(x.shape)}`);
  if (!Number.isInteger(diagonal)) throw new ShapeError(`${op}: diagonal must be an integer, got ${diagonal}`);
  const rows = x.shape[x.rank - 2];
  const cols = x.shape[x.rank - 1];
  const device = x.device;
  const r = arange(0, rows, 1, { dtype: 'int32', device });
  const c = arange(0, cols, 1, { dtype: 'int32', device });
  const rCol = reshape(r, [rows, 1]);
  const cRow = reshape(c, [1, cols]);
  const offset = sub(cRow, rCol); // [rows, cols]: col - row
  const mask = lower ? le(offset, diagonal) : ge(offset, diagonal);
  // A 0-d zero of x's own dtype: where() then needs no type promotion (bool stays bool).
  const zero = zeros([], { dtype: x.dtype, device });
  const out = where(mask, x, zero);
  for (const t of [r, c, rCol, cRow, offset, mask, zero]) t.dispose();
  return out;
}

/**
 * The lower triangle of the last two dims (`torch.tril`): keeps `x[..., i, j]` where
 * `j - i <= diagonal`, zeroes the rest. `diagonal` > 0 keeps more diagonals above the main
 * one, < 0 drops some below it. Differentiable.
 * @param x a tensor of rank >= 2
 * @param diagonal which diagonal bounds the triangle (default 0, the main one)
 */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return triangle('tril', x, diagonal, true);
}

/**
 * The upper triangle of the last two dims (`torch.triu`): keeps `x[..., i, j]` where
 * `j - i >= diagonal`, zeroes the rest. Differentiable.
 * @param x a tensor of rank >= 2
 * @param diagonal which diagonal bounds the triangle (default 0, the main one)
 */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return triangle('triu', x, diagonal, false);
}
