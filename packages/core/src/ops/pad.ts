/**
 * Padding (`torch.nn.functional.pad`), composed from differentiable ops so it needs no
 * kernel of its own and its gradient comes for free: constant padding is a crop (`slice`)
 * plus a `cat` with constant blocks; reflect/replicate padding is an `indexSelect` with
 * indices computed on the host (they depend only on shapes, so there is no readback).
 */
import { ShapeError } from '../errors.js';
import { formatShape } from '../shape.js';
import { uploadTensor } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { full } from './creation.js';
import { indexSelect } from './indexing.js';
import { cat } from './join.js';
import { clone, slice } from './view.js';

/** How `pad` fills the new border. */
export type PadMode = 'constant' | 'reflect' | 'replicate';

/**
 * Pads (or, with negative amounts, crops) the last dims of `x`, with
 * `torch.nn.functional.pad` semantics: `padding` is `[lastLeft, lastRight, prevLeft,
 * prevRight, ...]`, pairs from the last dim backwards, at most `2 * rank` entries.
 * - `'constant'`: fills with `value` (default 0).
 * - `'reflect'`: mirrors without repeating the edge (`[1,2,3]` padded by 2 on the left gives
 *   `[3,2,1,2,3]`); each amount must be smaller than the dim's size.
 * - `'replicate'`: repeats the edge value; the padded dims must not be empty.
 *
 * Differentiable with respect to `x` in every mode.
 * @param x the tensor to pad
 * @param padding integer amounts per side, last dim first
 * @param mode the fill mode (default `'constant'`)
 * @param value the fill value for `'constant'` (default 0)
 */
export function pad(x: Tensor, padding: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  x.assertAlive();
  if (padding.length % 2 !== 0)
    throw new ShapeError(`pad: padding length must be divisible by 2, got ${padding.length} (${formatShape(padding)})`);
  if (padding.length / 2 > x.rank) {
    throw new ShapeError(
      `pad: padding length ${padding.length} is too large for input ${formatShape(x.shape)}: it pads ${padding.length / 2} dims but the input has ${x.rank}`,
    );
  }
  if (padding.some((p) => !Number.isInteger(p))) throw new ShapeError(`pad: padding amounts must be integers, got ${formatShape(padding)}`);
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'replicate') {
    throw new ShapeError(`pad: unknown mode '${String(mode)}'; expected 'constant', 'reflect' or 'replicate'`);
  }
  const pairs: { dim: number; left: number; right: number }[] = [];
  for (let k = 0; k < padding.length / 2; k++) {
    const dim = x.rank - 1 - k;
    const left = padding[2 * k];
    const right = padding[2 * k + 1];
    const n = x.shape[dim];
    if (n + left + right < 0) {
      throw new ShapeError(
        `pad: the input size ${n}, plus negative padding ${left} and ${right}, resulted in a negative output size in dimension ${dim} of input ${formatShape(x.shape)}`,
      );
    }
    if (mode === 'reflect' && ((left > 0 && left >= n) || (right > 0 && right >= n))) {
      throw new ShapeError(
        `pad: reflect padding (${left}, ${right}) must be less than the size ${n} of dimension ${dim} of input ${formatShape(x.shape)}`,
      );
    }
    if (mode === 'replicate' && n === 0 && (left > 0 || right > 0)) {
      throw new ShapeError(`pad: replicate padding needs a non-empty dimension ${dim}, input is ${formatShape(x.shape)}`);
    }
    pairs.push({ dim, left, right });
  }

  // One dim at a time; each intermediate is disposed as soon as the next one exists (the
  // autograd graph keeps what its rules need), so only the result outlives the call.
  let cur = x;
  for (const { dim, left, right } of pairs) {
    if (left === 0 && right === 0) continue;
    const next = mode === 'constant' ? padConstant(cur, dim, left, right, value) : padByIndex(cur, dim, left, right, mode);
    if (cur !== x) cur.dispose();
    cur = next;
  }
  // pad always returns a new tensor, like PyTorch, even when nothing was padded.
  return cur === x ? clone(x) : cur;
}

/** Constant padding of one dim: crop the negative sides, then cat constant blocks. */
function padConstant(t: Tensor, dim: number, left: number, right: number, value: number): Tensor {
  const n = t.shape[dim];
  const cropped = left < 0 || right < 0 ? slice(t, dim, Math.max(-left, 0), n - Math.max(-right, 0)) : t;
  const block = (size: number) =>
    full(
      cropped.shape.map((s, i) => (i === dim ? size : s)),
      value,
      { dtype: t.dtype, device: t.device },
    );
  const parts: Tensor[] = [];
  if (left > 0) parts.push(block(left));
  parts.push(cropped);
  if (right > 0) parts.push(block(right));
  if (parts.length === 1) return cropped === t ? clone(t) : cropped;
  const out = cat(parts, dim);
  for (const p of parts) if (p !== t) p.dispose();
  return out;
}

/**
 * Reflect/replicate padding of one dim: output position `j` (from `-left` to `n + right - 1`
 * in input coordinates) reads input position `reflect(j)` or `clamp(j)`. A negative amount
 * simply starts or ends the range inside the input, which is a crop.
 */
function padByIndex(t: Tensor, dim: number, left: number, right: number, mode: 'reflect' | 'replicate'): Tensor {
  const n = t.shape[dim];
  const len = n + left + right;
  const idx = new Int32Array(len);
  for (let k = 0; k < len; k++) {
    const j = k - left;
    if (mode === 'replicate') idx[k] = Math.min(Math.max(j, 0), n - 1);
    else idx[k] = j < 0 ? -j : j >= n ? 2 * (n - 1) - j : j;
  }
  const index = uploadTensor(t.backend, idx, [len], 'int32');
  const out = indexSelect(t, dim, index);
  index.dispose();
  return out;
}
