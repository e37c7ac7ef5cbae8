/**
 * Joining and splitting tensors: `cat`/`stack` copy through the `concat` kernel; `split`,
 * `chunk` and `unbind` return views (built on `slice`/`select`), so they copy nothing and
 * autograd flows through the view ops' own rules.
 */
import { recordOp } from '../autograd/record.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { DataId } from '../backend/kernels.js';
import { type DType, promoteTypes } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { formatShape, normalizeDim, shapesEqual, sizeOf } from '../shape.js';
import { backendOf, fromDataId } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { zeros } from './creation.js';
import { select, slice, unsqueeze } from './view.js';

/**
 * PyTorch still accepts legacy 1-D empty tensors (shape `[0]`) in `cat` whatever the other
 * inputs' ranks, and skips them; this keeps `cat([torch.empty(0), x])` patterns working.
 */
function isSkippable(t: Tensor): boolean {
  return t.rank === 1 && t.shape[0] === 0;
}

/**
 * Concatenates tensors along an existing dim (`torch.cat`). All inputs need the same rank
 * and the same sizes on every other dim; `dim` may be negative. Dtypes are promoted
 * (bool < int32 < float32). Tensors of shape `[0]` are skipped, as in PyTorch.
 * Always returns a new contiguous tensor; the gradient of each input is its slice of the
 * output gradient.
 * @param tensors the tensors to join (at least one), all on one backend
 * @param dim the dim to join along (default 0)
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('cat expects a non-empty list of tensors');
  const backend = backendOf(...tensors);
  // Positions (in `tensors`) of the inputs actually joined; the same tensor may appear
  // several times, so everything below works on positions, never on tensor identity.
  const keptAt = tensors.flatMap((t, i) => (isSkippable(t) ? [] : [i]));
  // When every input is a legacy empty tensor, the result is simply the empty [0] tensor.
  const joinedAt = keptAt.length > 0 ? keptAt : tensors.map((_, i) => i);
  const joined = joinedAt.map((i) => tensors[i]);
  const ref = joined[0];
  if (ref.rank === 0) {
    throw new ShapeError(`cat: zero-dimensional tensor (at position ${joinedAt[0]}) cannot be concatenated; unsqueeze it or use stack()`);
  }
  const d = normalizeDim(dim, ref.rank);
  joined.forEach((t, k) => {
    const where = `${formatShape(ref.shape)} at position ${joinedAt[0]} and ${formatShape(t.shape)} at position ${joinedAt[k]}`;
    if (t.rank !== ref.rank) throw new ShapeError(`cat: tensors must have the same number of dimensions: got ${where}`);
    for (let i = 0; i < ref.rank; i++) {
      if (i !== d && t.shape[i] !== ref.shape[i]) {
        throw new ShapeError(
          `cat: sizes of tensors must match except in dimension ${d}: expected size ${ref.shape[i]} in dimension ${i} but got ${t.shape[i]} (shapes ${where})`,
        );
      }
    }
  });
  const dtype = tensors.map((t) => t.dtype).reduce<DType>((a, b) => promoteTypes(a, b), tensors[0].dtype);
  const lengths = joined.map((t) => t.shape[d]);
  const outShape = [...ref.shape];
  outShape[d] = lengths.reduce((a, b) => a + b, 0);

  // Inputs of another dtype are converted with the cast kernel; only non-float inputs are
  // ever converted (float32 wins promotion), and those never carry gradients, so the
  // temporaries need no autograd node and are freed right after the concat.
  const temps: Tensor[] = [];
  const views = joined
    .filter((t) => t.size > 0) // empty inputs contribute nothing; keep kernels free of them
    .map((t) => {
      if (t.dtype === dtype) return t.kernelInput();
      const c = fromDataId(backend, backend.kernels.cast(t.kernelInput(), { dtype }), t.shape, dtype);
      temps.push(c);
      return c.kernelInput();
    });
  let dataId: DataId;
  if (sizeOf(outShape) === 0 || views.length === 0) dataId = backend.kernels.fill({ shape: outShape, dtype, value: 0 });
  else if (views.length === 1) dataId = backend.kernels.unary(views[0], { op: 'identity' });
  else dataId = backend.kernels.concat(views, { axis: d });
  const out = fromDataId(backend, dataId, outShape, dtype);
  for (const c of temps) c.dispose();

  recordOp({
    name: 'cat',
    inputs: tensors,
    outputs: [out],
    backward: ([g]) => {
      const grads: (Tensor | null)[] = tensors.map(() => null);
      let start = 0;
      joinedAt.forEach((pos, k) => {
        grads[pos] = slice(g, d, start, start + lengths[k]);
        start += lengths[k];
      });
      // Skipped legacy-empty inputs get an empty gradient of their own shape.
      return grads.map((gi, i) => gi ?? zeros(tensors[i].shape, { device: g.device }));
    },
  });
  return out;
}

/**
 * Stacks equally shaped tensors along a new dim (`torch.stack`); `dim` may be negative
 * (counted against the output's rank). Differentiable.
 * @param tensors the tensors to stack (at least one), all of one shape
 * @param dim where the new dim goes in the output (default 0)
 */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('stack expects a non-empty list of tensors');
  const ref = tensors[0];
  tensors.forEach((t, i) => {
    if (!shapesEqual(t.shape, ref.shape)) {
      throw new ShapeError(
        `stack expects each tensor to be equal size, but got ${formatShape(ref.shape)} at entry 0 and ${formatShape(t.shape)} at entry ${i}`,
      );
    }
  });
  const d = normalizeDim(dim, ref.rank + 1);
  const parts = tensors.map((t) => unsqueeze(t, d));
  try {
    return cat(parts, d);
  } finally {
    // The unsqueezed views are only stepping stones; the graph keeps their nodes alive.
    for (const p of parts) p.dispose();
  }
}

function splitDim(op: string, x: Tensor, dim: number): number {
  if (x.rank === 0) throw new ShapeError(`${op} expects at least a 1-dimensional tensor, got a 0-d tensor`);
  return normalizeDim(dim, x.rank);
}

/**
 * Splits `x` along `dim` (`torch.split`): into pieces of `size` (the last may be smaller),
 * or into pieces of the given sizes, which must add up to the size of `dim`. The pieces are
 * views of `x` (no copy).
 * @param x the tensor to split (rank >= 1)
 * @param sizeOrSizes a piece size (> 0), or the list of piece sizes
 * @param dim the dim to split (default 0)
 */
export function split(x: Tensor, sizeOrSizes: number | readonly number[], dim = 0): Tensor[] {
  const d = splitDim('split', x, dim);
  const n = x.shape[d];
  let sizes: number[];
  if (typeof sizeOrSizes === 'number') {
    const size = sizeOrSizes;
    if (!Number.isInteger(size) || size < 0 || (size === 0 && n !== 0)) {
      throw new ShapeError(`split expects a positive integer split size, got ${size} (dimension ${d} has size ${n})`);
    }
    // Like PyTorch, an empty dim still gives one (empty) piece.
    const count = n === 0 ? 1 : Math.ceil(n / size);
    sizes = Array.from({ length: count }, (_, i) => Math.min(size, n - i * size));
  } else {
    sizes = [...sizeOrSizes];
    const total = sizes.reduce((a, b) => a + b, 0);
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || total !== n) {
      throw new ShapeError(
        `split expects sizes that are non-negative integers summing exactly to ${n} (the size of dimension ${d} of input ${formatShape(x.shape)}), but got ${formatShape(sizes)}`,
      );
    }
  }
  const out: Tensor[] = [];
  let start = 0;
  for (const s of sizes) {
    out.push(slice(x, d, start, start + s));
    start += s;
  }
  return out;
}

/**
 * Splits `x` into at most `chunks` views along `dim` (`torch.chunk`): each has
 * `ceil(size / chunks)` elements along `dim` except possibly the last, so fewer than
 * `chunks` pieces may come back (e.g. size 5 in 4 chunks gives 2+2+1).
 * @param x the tensor to split (rank >= 1)
 * @param chunks the number of chunks asked for (> 0)
 * @param dim the dim to split (default 0)
 */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new ShapeError(`chunk expects a positive integer number of chunks, got ${chunks}`);
  const d = splitDim('chunk', x, dim);
  const n = x.shape[d];
  // PyTorch returns `chunks` empty pieces for an empty dim.
  if (n === 0) return split(x, new Array<number>(chunks).fill(0), d);
  return split(x, Math.ceil(n / chunks), d);
}

/**
 * The slices of `x` along `dim`, each with that dim removed (`torch.unbind`). Views.
 * @param x the tensor (rank >= 1)
 * @param dim the dim to remove (default 0)
 */
export function unbind(x: Tensor, dim = 0): Tensor[] {
  const d = splitDim('unbind', x, dim);
  // One node for all pieces whose backward stacks their gradients: recording each piece
  // as a select would pad every piece's gradient to the full size (O(n^2) for RNN time steps).
  const pieces = noGrad(() => Array.from({ length: x.shape[d] }, (_, i) => select(x, d, i)));
  recordOp({ name: 'unbind', inputs: [x], outputs: pieces, backward: (grads) => [stack(grads, d)] });
  return pieces;
}
