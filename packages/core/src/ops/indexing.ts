/**
 * Gather/scatter and index selection (`torch.gather`, `scatter`, `scatter_add`,
 * `index_select`), out of place, all differentiable with respect to their float inputs.
 *
 * Index range checks: on backends that read synchronously (`readSync`, e.g. backend-cpu)
 * core checks every index before the kernel runs and throws an `IndexError` at the call.
 * On asynchronous backends (GPU) that check would cost a device round trip per call, so the
 * kernel checks instead: it skips the bad element (gather gives 0 there, scatter writes
 * nothing), records the fault, and core throws the same `IndexError` at the next read or
 * `sync()` (see `Backend.takeIndexFault`), like a CUDA device-side assert in PyTorch.
 */
import { recordOp } from '../autograd/record.js';
import { DTypeError, IndexError, ShapeError } from '../errors.js';
import { formatShape, normalizeDim, sizeOf } from '../shape.js';
import { backendOf, fromDataId } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { full, zeros } from './creation.js';
import { expand, reshape, slice } from './view.js';

function checkIndexDType(op: string, index: Tensor): void {
  if (index.dtype !== 'int32') {
    throw new DTypeError(`${op}: expected an int32 index tensor, got dtype ${index.dtype}; convert it with index.int()`);
  }
}

/**
 * Throws when some index lies outside `[0, n)`. Only on backends with `readSync`: reading
 * the indices back is free there, while on asynchronous backends it would stall the queue
 * (their kernels record the fault; core raises it at the next read).
 */
function checkIndexRange(op: string, index: Tensor, n: number, dim: number): void {
  if (!index.backend.readSync || index.size === 0) return;
  const values = index.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < 0 || v >= n) {
      throw new IndexError(`${op}: index ${v} is out of bounds for dimension ${dim} with size ${n}`);
    }
  }
}

/** Validates a gather/scatter index against `x` (and `src`), returning the normalised dim. */
function checkScatterGather(op: string, x: Tensor, dim: number, index: Tensor, src?: Tensor): number {
  checkIndexDType(op, index);
  if (index.rank !== x.rank) {
    throw new ShapeError(
      `${op}: index ${formatShape(index.shape)} must have the same number of dimensions as input ${formatShape(x.shape)}`,
    );
  }
  const d = normalizeDim(dim, x.rank);
  for (let i = 0; i < x.rank; i++) {
    if (i !== d && index.shape[i] > x.shape[i]) {
      throw new ShapeError(
        `${op}: size ${index.shape[i]} of index ${formatShape(index.shape)} in dimension ${i} exceeds size ${x.shape[i]} of input ${formatShape(x.shape)}`,
      );
    }
    if (src && index.shape[i] > src.shape[i]) {
      throw new ShapeError(
        `${op}: size ${index.shape[i]} of index ${formatShape(index.shape)} in dimension ${i} exceeds size ${src.shape[i]} of src ${formatShape(src.shape)}`,
      );
    }
  }
  return d;
}

/**
 * The kernels take rank >= 1, so a 0-d call runs `fn` on `[1]`-shaped views of its 0-d
 * tensors and reshapes the result back to 0-d. The intermediates are freed at once; the
 * autograd graph keeps whatever it needs of them.
 */
function on1d(tensors: readonly Tensor[], fn: (views: Tensor[]) => Tensor, outShape: readonly number[] = []): Tensor {
  const views = tensors.map((t) => (t.rank === 0 ? reshape(t, [1]) : t));
  const r = fn(views);
  const out = reshape(r, outShape);
  r.dispose();
  views.forEach((v, i) => {
    if (v !== tensors[i]) v.dispose();
  });
  return out;
}

function gatherUnchecked(x: Tensor, d: number, index: Tensor, caller = 'gather'): Tensor {
  const backend = backendOf(x, index);
  const dataId =
    index.size === 0
      ? backend.kernels.fill({ shape: index.shape, dtype: x.dtype, value: 0 })
      : backend.kernels.gather(x.kernelInput(), index.kernelInput(), { axis: d, caller });
  const out = fromDataId(backend, dataId, index.shape, x.dtype);
  recordOp({
    name: 'gather',
    inputs: [x],
    outputs: [out],
    save: [index],
    backward: ([g], [idx]) => [scatterAdd(broadcastZeros(x.shape, g), d, idx, g)],
  });
  return out;
}

/**
 * Zeros of `shape` as one zero broadcast (stride 0): the base a gather's gradient is
 * scatter-added into. The scatter kernel writes its output once from it, where a full zeros
 * tensor would be filled first and then copied (an embedding table's size, twice per step).
 */
function broadcastZeros(shape: readonly number[], like: Tensor): Tensor {
  const zero = zeros([], { dtype: like.dtype, device: like.device });
  const out = expand(zero, shape);
  zero.dispose();
  return out;
}

/**
 * `out[i][j][k] = x[i][index[i][j][k]][k]` for `dim = 1` (`torch.gather`). `index` is
 * int32 with `x`'s rank and sizes at most `x`'s on the other dims; the output has
 * `index`'s shape. Gradient: the output gradient scatter-added back into zeros.
 * @param x the source tensor
 * @param dim the dim indexed (may be negative)
 * @param index int32 positions along `dim`, each in `[0, x.shape[dim])`
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  backendOf(x, index);
  if (x.rank === 0 && index.rank === 0) return on1d([x, index], ([x1, i1]) => gather(x1, 0, i1));
  const d = checkScatterGather('gather', x, dim, index);
  checkIndexRange('gather', index, x.shape[d], d);
  return gatherUnchecked(x, d, index);
}

/** `src` cut down to `index`'s shape (the kernel wants them equal); a view, so differentiable. */
function srcFor(src: Tensor, index: Tensor): Tensor {
  let s = src;
  for (let i = 0; i < index.rank; i++) {
    if (s.shape[i] !== index.shape[i]) {
      const next = slice(s, i, 0, index.shape[i]);
      if (s !== src) s.dispose();
      s = next;
    }
  }
  return s;
}

function scatterImpl(op: 'scatter' | 'scatterAdd', x: Tensor, dim: number, index: Tensor, src: Tensor | number): Tensor {
  backendOf(x, index, ...(typeof src === 'number' ? [] : [src]));
  if (x.rank === 0 && index.rank === 0) {
    if (typeof src === 'number') return on1d([x, index], ([x1, i1]) => scatterImpl(op, x1, 0, i1, src));
    return on1d([x, index, src], ([x1, i1, s1]) => scatterImpl(op, x1, 0, i1, s1));
  }
  const srcTensor = typeof src === 'number' ? null : src;
  if (srcTensor && srcTensor.dtype !== x.dtype) {
    throw new DTypeError(`${op}: expected src to have the input's dtype ${x.dtype}, got ${srcTensor.dtype}`);
  }
  if (srcTensor && srcTensor.rank !== x.rank) {
    throw new ShapeError(
      `${op}: src ${formatShape(srcTensor.shape)} must have the same number of dimensions as input ${formatShape(x.shape)}`,
    );
  }
  const d = checkScatterGather(op, x, dim, index, srcTensor ?? undefined);
  checkIndexRange(op, index, x.shape[d], d);
  const backend = x.backend;
  // A number src becomes a constant of index's shape; a tensor src is cut to index's shape.
  const s = srcTensor ? srcFor(srcTensor, index) : full(index.shape, src as number, { dtype: x.dtype, device: x.device });
  const dataId =
    sizeOf(index.shape) === 0
      ? backend.kernels.unary(x.kernelInput(), { op: 'identity' })
      : backend.kernels.scatter(x.kernelInput(), index.kernelInput(), s.kernelInput(), {
          axis: d,
          reduce: op === 'scatter' ? 'none' : 'add',
          caller: op,
        });
  const out = fromDataId(backend, dataId, x.shape, x.dtype);
  const add = op === 'scatterAdd';
  recordOp({
    name: op,
    inputs: srcTensor ? [x, s] : [x],
    outputs: [out],
    save: [index],
    backward: ([g], [idx]) => [
      // scatter overwrote the positions in idx, so x gets no gradient there; scatterAdd
      // passes the gradient of x through unchanged (as a distinct alias of g).
      add ? reshape(g, g.shape) : scatter(g, d, idx, 0),
      srcTensor ? gatherUnchecked(g, d, idx) : null,
    ],
  });
  if (s !== srcTensor) s.dispose(); // a temporary constant or slice view; the graph holds what it needs
  return out;
}

/**
 * A copy of `x` with `src` written at `index` along `dim` (out-of-place `torch.scatter`):
 * for `dim = 0`, `out[index[i][j]][j] = src[i][j]`. `src` is a tensor of `x`'s dtype with
 * sizes at least `index`'s, or a number. With repeated indices, which value lands is
 * unspecified (as in PyTorch). Gradients: `x` gets the output gradient with the written
 * positions zeroed, `src` the gradient gathered at `index`.
 * @param x the base tensor
 * @param dim the dim indexed (may be negative)
 * @param index int32 positions, `x`'s rank, each in `[0, x.shape[dim])`
 * @param src values to write
 */
export function scatter(x: Tensor, dim: number, index: Tensor, src: Tensor | number): Tensor {
  return scatterImpl('scatter', x, dim, index, src);
}

/**
 * A copy of `x` with `src` added at `index` along `dim` (out-of-place `torch.scatter_add`);
 * repeated indices accumulate. Gradients: `x` gets the output gradient, `src` the gradient
 * gathered at `index`.
 * @param x the base tensor
 * @param dim the dim indexed (may be negative)
 * @param index int32 positions, `x`'s rank, each in `[0, x.shape[dim])`
 * @param src values to add, `x`'s dtype, sizes at least `index`'s
 */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  return scatterImpl('scatterAdd', x, dim, index, src);
}

/**
 * The entries of `x` at the positions `index` along `dim` (`torch.index_select`), in that
 * order, repeats allowed. Implemented as a gather with `index` broadcast (stride 0, no
 * copy) over the other dims, so its gradient is a scatter-add.
 * @param x the source tensor
 * @param dim the dim indexed (may be negative)
 * @param index 1-D (or 0-d) int32 positions, each in `[0, x.shape[dim])`
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  backendOf(x, index);
  checkIndexDType('indexSelect', index);
  if (index.rank > 1) throw new ShapeError(`indexSelect: index must be 1-D (or 0-d), got shape ${formatShape(index.shape)}`);
  if (x.rank === 0) return on1d([x], ([x1]) => indexSelect(x1, 0, index), index.rank === 0 ? [] : [index.size]);
  const d = normalizeDim(dim, x.rank);
  checkIndexRange('indexSelect', index, x.shape[d], d);
  return indexSelectUnchecked(x, d, index);
}

/** `indexSelect` after validation: `d` is normalised, `index` is 1-D int32 and in range. */
function indexSelectUnchecked(x: Tensor, d: number, index: Tensor): Tensor {
  const k = index.size;
  const idxShape = x.shape.map((_, i) => (i === d ? k : 1));
  const outShape = x.shape.map((s, i) => (i === d ? k : s));
  const col = reshape(index, idxShape);
  const spread = expand(col, outShape);
  try {
    return gatherUnchecked(x, d, spread, 'indexSelect');
  } finally {
    col.dispose();
    spread.dispose();
  }
}
