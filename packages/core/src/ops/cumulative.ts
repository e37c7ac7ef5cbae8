/** Cumulative sums (`torch.cumsum`), on the `cumsum` kernel, with a flip-based gradient. */
import { recordOp } from '../autograd/record.js';
import { normalizeDim } from '../shape.js';
import { backendOf, fromDataId, uploadTensor } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { indexSelect } from './indexing.js';
import { reshape } from './view.js';

/** `x` reversed along `d` (an index select with a reversed range; differentiable). */
function flip(x: Tensor, d: number): Tensor {
  const n = x.shape[d];
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = n - 1 - i;
  const index = uploadTensor(x.backend, idx, [n], 'int32');
  const out = indexSelect(x, d, index);
  index.dispose();
  return out;
}

/**
 * Inclusive cumulative sum along `dim` (`torch.cumsum`): `out[i] = x[0] + ... + x[i]`.
 * float32 stays float32; int32 and bool inputs give int32 (PyTorch gives int64, which
 * GhostFlow does not have). A 0-d input is returned as a copy (dim 0 or -1).
 * Gradient: the reversed cumulative sum of the output gradient.
 * @param x the input
 * @param dim the dim to accumulate along (may be negative)
 */
export function cumsum(x: Tensor, dim: number): Tensor {
  const backend = backendOf(x);
  const d = normalizeDim(dim, x.rank);
  if (x.rank === 0) {
    // The kernel works on rank >= 1: run on a [1] view and reshape back.
    const flat = reshape(x, [1]);
    const r = cumsum(flat, 0);
    const out = reshape(r, []);
    flat.dispose();
    r.dispose();
    return out;
  }
  const dtype = x.dtype === 'float32' ? 'float32' : 'int32';
  // bool has no sum kernel of its own: convert to int32 first (never differentiable).
  const src = x.dtype === 'bool' ? fromDataId(backend, backend.kernels.cast(x.kernelInput(), { dtype: 'int32' }), x.shape, 'int32') : x;
  const dataId =
    x.size === 0 ? backend.kernels.fill({ shape: x.shape, dtype, value: 0 }) : backend.kernels.cumsum(src.kernelInput(), { axis: d });
  if (src !== x) src.dispose();
  const out = fromDataId(backend, dataId, x.shape, dtype);
  recordOp({
    name: 'cumsum',
    inputs: [x],
    outputs: [out],
    backward: ([g]) => {
      // d(out_j)/d(x_i) = 1 for j >= i, so grad_i = sum_{j >= i} g_j: a cumsum from the end.
      const rev = flip(g, d);
      const acc = cumsum(rev, d);
      return [flip(acc, d)];
    },
  });
  return out;
}
